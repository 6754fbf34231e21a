//! Named parameters in SQL text: `:name` becomes the server's placeholder (`$1` on
//! PostgreSQL, `?` on MySQL) wherever it stands outside string literals, quoted identifiers
//! and comments; `::` casts and MySQL's `:=` are left alone.
//!
//! Comments are dropped from the text sent to the server. On MySQL that is a safety
//! measure, not a nicety: `/*! … */` is executed by the server while every SQL parser sees a
//! comment, so such text is refused outright.

use super::DbKind;

/// SQL ready for the server: placeholders in place of names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewritten {
    pub sql: String,
    /// The parameter bound to each placeholder, in order. On PostgreSQL each name appears
    /// once (`$n` may repeat in the text); on MySQL once per `?`.
    pub binds: Vec<String>,
}

/// Rewrites `:name` parameters and strips comments and trailing semicolons. The error
/// says what in the text cannot be sent.
pub fn rewrite(sql: &str, kind: DbKind) -> Result<Rewritten, String> {
    let mysql = kind == DbKind::MySql;
    let chars: Vec<char> = sql.chars().collect();
    let mut out = String::with_capacity(sql.len() + 8);
    let mut binds: Vec<String> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '\'' => {
                // E'…' strings on PostgreSQL and every string on MySQL know backslash escapes.
                let escapes = mysql || is_escape_string_prefix(&chars, i);
                i = copy_quoted(&chars, i, '\'', escapes, &mut out)?;
            }
            '"' => i = copy_quoted(&chars, i, '"', mysql, &mut out)?,
            '`' if mysql => i = copy_quoted(&chars, i, '`', false, &mut out)?,
            '-' if next == Some('-')
                && (!mysql || chars.get(i + 2).is_none_or(|c| c.is_whitespace())) =>
            {
                i = skip_line(&chars, i);
                out.push(' ');
            }
            '#' if mysql => {
                i = skip_line(&chars, i);
                out.push(' ');
            }
            '/' if next == Some('*') => {
                if mysql && matches!(chars.get(i + 2), Some('!')) {
                    return Err("MySQL executable comments (`/*! … */`) are not allowed".into());
                }
                if mysql && chars.get(i + 2) == Some(&'M') && chars.get(i + 3) == Some(&'!') {
                    return Err("MariaDB executable comments (`/*M! … */`) are not allowed".into());
                }
                i = skip_block_comment(&chars, i, !mysql)?;
                out.push(' ');
            }
            '$' if !mysql => {
                if next.is_some_and(|c| c.is_ascii_digit()) {
                    return Err(
                        "positional parameters like `$1` are not supported: name them, e.g. `:customerId`"
                            .into(),
                    );
                }
                match dollar_tag(&chars, i) {
                    Some(tag) => i = copy_dollar_quoted(&chars, i, &tag, &mut out)?,
                    None => {
                        out.push(c);
                        i += 1;
                    }
                }
            }
            '?' if mysql => {
                return Err(
                    "positional parameters (`?`) are not supported: name them, e.g. `:customerId`"
                        .into(),
                );
            }
            ':' if next == Some(':') => {
                out.push_str("::");
                i += 2;
            }
            ':' if next.is_some_and(is_ident_start) && !prev_is_ident(&chars, i) => {
                let start = i + 1;
                let mut end = start;
                while end < chars.len() && is_ident_char(chars[end]) {
                    end += 1;
                }
                let name: String = chars[start..end].iter().collect();
                if mysql {
                    out.push('?');
                    binds.push(name);
                } else {
                    let n = match binds.iter().position(|b| *b == name) {
                        Some(n) => n + 1,
                        None => {
                            binds.push(name);
                            binds.len()
                        }
                    };
                    out.push('$');
                    out.push_str(&n.to_string());
                }
                i = end;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    let trimmed = out.trim_end_matches(|c: char| c == ';' || c.is_whitespace());
    let sql = trimmed.trim_start().to_owned();
    Ok(Rewritten { sql, binds })
}

/// The distinct parameter names the text uses, in order of first use.
pub fn names_used(rewritten: &Rewritten) -> Vec<&str> {
    let mut seen: Vec<&str> = Vec::new();
    for b in &rewritten.binds {
        if !seen.contains(&b.as_str()) {
            seen.push(b);
        }
    }
    seen
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// A colon right after a name or a number (`arr[1:n]`, `a:b`) is a slice bound or a label,
/// not a parameter.
fn prev_is_ident(chars: &[char], i: usize) -> bool {
    i > 0 && is_ident_char(chars[i - 1])
}

fn is_escape_string_prefix(chars: &[char], quote: usize) -> bool {
    quote > 0
        && matches!(chars[quote - 1], 'e' | 'E')
        && (quote < 2 || !is_ident_char(chars[quote - 2]))
}

fn copy_quoted(
    chars: &[char],
    start: usize,
    quote: char,
    backslash_escapes: bool,
    out: &mut String,
) -> Result<usize, String> {
    out.push(quote);
    let mut i = start + 1;
    while i < chars.len() {
        let c = chars[i];
        out.push(c);
        if backslash_escapes && c == '\\' {
            if let Some(&n) = chars.get(i + 1) {
                out.push(n);
            }
            i += 2;
            continue;
        }
        if c == quote {
            if chars.get(i + 1) == Some(&quote) {
                out.push(quote);
                i += 2;
                continue;
            }
            return Ok(i + 1);
        }
        i += 1;
    }
    let what = match quote {
        '\'' => "string literal",
        _ => "quoted identifier",
    };
    Err(format!(
        "unterminated {what} starting at character {}",
        start + 1
    ))
}

fn skip_line(chars: &[char], start: usize) -> usize {
    let mut i = start;
    while i < chars.len() && chars[i] != '\n' {
        i += 1;
    }
    i
}

fn skip_block_comment(chars: &[char], start: usize, nested: bool) -> Result<usize, String> {
    let mut depth = 0usize;
    let mut i = start;
    while i < chars.len() {
        if chars[i] == '/' && chars.get(i + 1) == Some(&'*') && (nested || depth == 0) {
            depth += 1;
            i += 2;
        } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return Ok(i);
            }
        } else {
            i += 1;
        }
    }
    Err(format!(
        "unterminated comment starting at character {}",
        start + 1
    ))
}

/// The tag of a PostgreSQL dollar quote starting at `i` (`$$` or `$tag$`), if it is one.
fn dollar_tag(chars: &[char], i: usize) -> Option<String> {
    if i > 0 && is_ident_char(chars[i - 1]) {
        return None;
    }
    let mut j = i + 1;
    while j < chars.len() && is_ident_char(chars[j]) {
        j += 1;
    }
    (chars.get(j) == Some(&'$')).then(|| chars[i..=j].iter().collect())
}

fn copy_dollar_quoted(
    chars: &[char],
    start: usize,
    tag: &str,
    out: &mut String,
) -> Result<usize, String> {
    let tag: Vec<char> = tag.chars().collect();
    let body = start + tag.len();
    let mut i = body;
    while i + tag.len() <= chars.len() {
        if chars[i..i + tag.len()] == tag[..] {
            out.extend(&chars[start..i + tag.len()]);
            return Ok(i + tag.len());
        }
        i += 1;
    }
    Err(format!(
        "unterminated dollar-quoted string starting at character {}",
        start + 1
    ))
}

/// [`rewrite`] plus the statement check of [`sql_check`](super::sql_check), remembered per
/// query text: a saved query runs many times, and parsing it each time would cost more than
/// the rest of Weft's share of a run.
pub fn checked(
    kind: DbKind,
    query_type: super::QueryType,
    text: &str,
) -> Result<std::sync::Arc<Rewritten>, String> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    type Key = (DbKind, super::QueryType, String);
    const MAX_CACHED: usize = 1024;
    static CACHE: OnceLock<Mutex<HashMap<Key, Arc<Rewritten>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (kind, query_type, text.to_owned());
    if let Some(hit) = cache.lock().expect("plan cache").get(&key) {
        return Ok(hit.clone());
    }
    let rewritten = rewrite(text, kind)?;
    super::sql_check::check_statement(kind, query_type, &rewritten.sql)?;
    let rewritten = Arc::new(rewritten);
    let mut map = cache.lock().expect("plan cache");
    if map.len() >= MAX_CACHED {
        map.clear();
    }
    map.insert(key, rewritten.clone());
    Ok(rewritten)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(sql: &str) -> Rewritten {
        rewrite(sql, DbKind::Postgres).unwrap()
    }

    fn my(sql: &str) -> Rewritten {
        rewrite(sql, DbKind::MySql).unwrap()
    }

    #[test]
    fn names_become_numbered_placeholders_and_repeats_share_one() {
        let r = pg("SELECT * FROM t WHERE a = :a AND b > :since OR c = :a;");
        assert_eq!(r.sql, "SELECT * FROM t WHERE a = $1 AND b > $2 OR c = $1");
        assert_eq!(r.binds, ["a", "since"]);
    }

    #[test]
    fn mysql_gets_one_question_mark_per_use() {
        let r = my("SELECT * FROM t WHERE a = :a OR b = :a");
        assert_eq!(r.sql, "SELECT * FROM t WHERE a = ? OR b = ?");
        assert_eq!(r.binds, ["a", "a"]);
    }

    #[test]
    fn literals_identifiers_casts_and_dollar_quotes_are_left_alone() {
        let r = pg(
            "SELECT ':no', \"col:x\", E'it\\'s :no', x::text, $$ :no $$, $t$ :no $t$ FROM t WHERE y = :yes",
        );
        assert_eq!(
            r.sql,
            "SELECT ':no', \"col:x\", E'it\\'s :no', x::text, $$ :no $$, $t$ :no $t$ FROM t WHERE y = $1"
        );
        assert_eq!(r.binds, ["yes"]);
    }

    #[test]
    fn comments_are_dropped_with_the_names_inside_them() {
        let r = pg("SELECT 1 -- :a\n, /* :b /* nested :c */ */ :d");
        assert_eq!(r.sql, "SELECT 1  \n,   $1");
        assert_eq!(r.binds, ["d"]);
        let r = my("SELECT 1 # :a\n, `x:y`, 'a\\':b', @v := 1, :d -- :e");
        assert_eq!(r.sql, "SELECT 1  \n, `x:y`, 'a\\':b', @v := 1, ?");
        assert_eq!(r.binds, ["d"]);
    }

    #[test]
    fn executable_comments_and_positional_placeholders_are_refused() {
        assert!(rewrite("SELECT 1 /*! ; DROP TABLE t */", DbKind::MySql).is_err());
        assert!(rewrite("SELECT 1 /*M!100000 , 2 */", DbKind::MySql).is_err());
        assert!(rewrite("SELECT * FROM t WHERE a = ?", DbKind::MySql).is_err());
        assert!(rewrite("SELECT * FROM t WHERE a = $1", DbKind::Postgres).is_err());
    }

    #[test]
    fn unterminated_literals_are_reported() {
        assert!(rewrite("SELECT 'abc", DbKind::Postgres).is_err());
        assert!(rewrite("SELECT $x$ abc", DbKind::Postgres).is_err());
        assert!(rewrite("SELECT /* abc", DbKind::MySql).is_err());
    }
}
