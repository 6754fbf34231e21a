//! MongoDB through an `nx-27017` server started per test.
