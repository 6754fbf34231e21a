//! Compiled jq programs shared across executions: a workflow's expressions compile once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::mapping::expr::JqProgram;

/// Bounded so hostile documents cannot grow it without limit.
const MAX_CACHED_PROGRAMS: usize = 4_096;

#[derive(Default)]
pub struct JqCache {
    programs: Mutex<HashMap<String, Arc<JqProgram>>>,
}

impl JqCache {
    pub fn get(&self, source: &str) -> Result<Arc<JqProgram>, String> {
        if let Some(program) = self.programs.lock().expect("jq cache").get(source) {
            return Ok(program.clone());
        }
        let program = Arc::new(JqProgram::compile(source).map_err(|e| e.to_string())?);
        let mut programs = self.programs.lock().expect("jq cache");
        if programs.len() >= MAX_CACHED_PROGRAMS {
            programs.clear();
        }
        programs.insert(source.to_owned(), program.clone());
        Ok(program)
    }
}
