//! The one wasmtime engine a sandbox runs everything on, and the clock that interrupts it.

use std::time::Duration;

use wasmtime::{Config, Engine, OptLevel};

/// How often running programs check their deadline and cancellation. A run overshoots its
/// budget by at most about this much.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Wasm stack per run. Deep enough for Boa's parser and interpreter on real scripts, small
/// enough that runaway recursion in a raw module traps quickly instead of eating memory.
const MAX_WASM_STACK: usize = 1024 * 1024;

pub(crate) fn build() -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    // Epochs, not fuel: the deadline is checked at loop heads and calls at the cost of a
    // load and compare, where fuel counting measured ~30% slower.
    config.epoch_interruption(true);
    config.max_wasm_stack(MAX_WASM_STACK);
    config.cranelift_opt_level(OptLevel::Speed);
    // Copy-on-write images of initial memory make a fresh instance of the 5 MB JavaScript
    // engine cost page-table entries, not a copy of its data.
    config.memory_init_cow(true);
    Engine::new(&config)
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until the engine is dropped.
pub(crate) fn start_ticker(engine: &Engine) -> std::io::Result<()> {
    let engine = engine.weak();
    std::thread::Builder::new()
        .name("weft-sandbox-epoch".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(EPOCH_TICK);
                match engine.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => return,
                }
            }
        })?;
    Ok(())
}
