//! The hostile-code suite: whatever a code tool does, it ends with a clear error code, the
//! host is unharmed and the next run is unaffected.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use domain::sandbox::{
    Limits, MAX_MODULE_BYTES, MAX_SOURCE_BYTES, Program, RunOutput, Sandbox, SandboxError,
    SandboxErrorCode,
};
use serde_json::{Value, json};
use tokio::sync::RwLock;
use tokio_util::sync::CancellationToken;

/// Runs that measure the process's memory take this exclusively; every other test takes
/// it shared, so nothing else allocates while they measure.
static QUIET: RwLock<()> = RwLock::const_new(());

/// One sandbox for the whole binary, with the JavaScript engine compiled before any test
/// starts its clock.
static SANDBOX: LazyLock<Sandbox> = LazyLock::new(|| {
    let sandbox = Sandbox::shared().expect("the sandbox starts");
    sandbox.warm_up().expect("the JavaScript engine compiles");
    sandbox
});

async fn sandbox() -> Sandbox {
    tokio::task::spawn_blocking(|| SANDBOX.clone())
        .await
        .expect("warm-up thread")
}

fn js(source: &str) -> Program {
    Program::JavaScript {
        source: source.to_owned(),
    }
}

/// wasmtime accepts the text format wherever it accepts a binary module.
fn wat(text: &str) -> Program {
    Program::Wasm {
        module: text.as_bytes().to_vec(),
    }
}

async fn run_with(
    program: &Program,
    input: Value,
    limits: &Limits,
) -> Result<RunOutput, SandboxError> {
    sandbox()
        .await
        .run(
            program,
            &input,
            &json!({}),
            limits,
            CancellationToken::new(),
        )
        .await
}

async fn run(program: &Program, input: Value) -> Result<RunOutput, SandboxError> {
    run_with(program, input, &Limits::default()).await
}

fn code(result: Result<RunOutput, SandboxError>) -> SandboxErrorCode {
    match result {
        Ok(output) => panic!("expected a failure, got {output:?}"),
        Err(e) => e.code,
    }
}

/// Resident set size of this process, from /proc/self/statm.
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("procfs");
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// A WASI command whose `_start` runs `body`; `(call $print_yes)` and `(call $print_no)`
/// write `{"ok":true}` / `{"ok":false}` to stdout. Scratch memory starts at 1024.
fn wasi_command(imports: &str, body: &str) -> Program {
    wat(&format!(
        r#"(module
          (import "wasi_snapshot_preview1" "fd_write"
            (func $fd_write (param i32 i32 i32 i32) (result i32)))
          {imports}
          (memory (export "memory") 1)
          (data (i32.const 100) "{{\"ok\":true}}")
          (data (i32.const 200) "{{\"ok\":false}}")
          (data (i32.const 300) "/etc/passwd")
          (func $print (param $ptr i32) (param $len i32)
            (i32.store (i32.const 0) (local.get $ptr))
            (i32.store (i32.const 4) (local.get $len))
            (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
          (func $print_yes (call $print (i32.const 100) (i32.const 11)))
          (func $print_no (call $print (i32.const 200) (i32.const 12)))
          (func (export "_start") (local $fd i32) (local $failures i32)
            {body}))"#
    ))
}

#[tokio::test]
async fn a_script_gets_its_input_and_context_and_its_logs_are_kept() {
    let _quiet = QUIET.read().await;
    let program = js(r#"
        export default async function run(input, ctx) {
          console.log("doubling", input.n);
          console.warn({ tool: ctx.tool });
          return { doubled: input.n * 2, tool: ctx.tool };
        }"#);
    let output = sandbox()
        .await
        .run(
            &program,
            &json!({ "n": 21 }),
            &json!({ "tool": "doubler" }),
            &Limits::default(),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(output.output, json!({ "doubled": 42, "tool": "doubler" }));
    assert_eq!(output.logs, ["doubling 21", r#"{"tool":"doubler"}"#]);
}

#[tokio::test]
async fn a_thrown_error_is_a_script_error_with_the_logs_before_it() {
    let _quiet = QUIET.read().await;
    let error = run(
        &js(r#"export default function run() { console.log("before"); throw new TypeError("boom"); }"#),
        json!({}),
    )
    .await
    .unwrap_err();
    assert_eq!(error.code, SandboxErrorCode::ScriptError);
    assert_eq!(error.message, "TypeError: boom");
    assert_eq!(error.logs, ["before"]);
}

#[tokio::test]
async fn a_syntax_error_is_refused_at_save_time_with_its_position() {
    let _quiet = QUIET.read().await;
    let sandbox = sandbox().await;
    let error = tokio::task::spawn_blocking(move || {
        sandbox.check_program(&js(
            "export default function run(input) {\n  return input +;\n}",
        ))
    })
    .await
    .unwrap()
    .unwrap_err();
    assert_eq!(error.code, SandboxErrorCode::ScriptError);
    assert!(
        error.message.starts_with("SyntaxError"),
        "{}",
        error.message
    );
    assert!(error.message.contains("line 2"), "{}", error.message);
}

#[tokio::test]
async fn an_infinite_loop_is_stopped_within_one_and_a_half_times_its_budget() {
    let _quiet = QUIET.read().await;
    let limits = Limits {
        cpu: Duration::from_secs(1),
        ..Limits::default()
    };
    let started = Instant::now();
    let result = run_with(
        &js("export default function run() { while (true) {} }"),
        json!({}),
        &limits,
    )
    .await;
    let elapsed = started.elapsed();
    assert_eq!(code(result), SandboxErrorCode::Timeout);
    assert!(elapsed >= Duration::from_secs(1), "{elapsed:?}");
    assert!(elapsed <= Duration::from_millis(1500), "{elapsed:?}");

    let raw = wat(r#"(module (memory (export "memory") 1)
        (func (export "_start") (loop $forever (br $forever))))"#);
    let started = Instant::now();
    assert_eq!(
        code(run_with(&raw, json!({}), &limits).await),
        SandboxErrorCode::Timeout
    );
    assert!(started.elapsed() <= Duration::from_millis(1500));
}

#[tokio::test]
async fn a_memory_bomb_is_refused_at_the_limit_and_the_host_barely_notices() {
    let _quiet = QUIET.write().await;
    // Warm every path first, so what is measured is the bomb, not first-use allocations.
    run(&js("export default function run() { return 1 }"), json!({}))
        .await
        .unwrap();
    let before = rss_bytes();
    let limits = Limits {
        cpu: Duration::from_secs(10),
        ..Limits::default()
    };
    for bomb in [
        "const hoard = []; while (true) hoard.push(new ArrayBuffer(8 << 20));",
        "let s = 'x'; while (true) s = s + s;",
        "const hoard = []; while (true) hoard.push(new Array(1 << 16).fill(1.5));",
    ] {
        let program = js(&format!("export default function run() {{ {bomb} }}"));
        let error = run_with(&program, json!({}), &limits).await.unwrap_err();
        assert_eq!(error.code, SandboxErrorCode::MemoryLimit, "{bomb}: {error}");
    }
    let raw = wasi_command(
        "",
        "(drop (memory.grow (i32.const 16384))) (if (i32.lt_s (memory.grow (i32.const 16384)) (i32.const 0)) (then unreachable))",
    );
    assert_eq!(
        code(run(&raw, json!({})).await),
        SandboxErrorCode::MemoryLimit
    );
    let grown = rss_bytes().saturating_sub(before);
    assert!(grown < 16 * 1024 * 1024, "the host grew by {grown} bytes");
}

#[tokio::test]
async fn unbounded_recursion_is_a_clean_error_and_the_next_run_works() {
    let _quiet = QUIET.read().await;
    let recursion = js(
        "function dive(n) { return dive(n + 1) + 1 }\nexport default function run() { return dive(0) }",
    );
    assert_eq!(
        code(run(&recursion, json!({})).await),
        SandboxErrorCode::StackOverflow
    );
    let raw = wat(r#"(module (memory (export "memory") 1)
        (func $dive (call $dive))
        (func (export "_start") (call $dive)))"#);
    assert_eq!(
        code(run(&raw, json!({})).await),
        SandboxErrorCode::StackOverflow
    );
    let output = run(
        &js("export default function run() { return 'alive' }"),
        json!({}),
    )
    .await;
    assert_eq!(output.unwrap().output, json!("alive"));
}

#[tokio::test]
async fn a_gigabyte_of_logs_stops_at_the_cap_quickly() {
    let _quiet = QUIET.read().await;
    let flood = js(r#"
        export default function run() {
          const line = "x".repeat(1023);
          for (let i = 0; i < 1024 * 1024; i++) console.log(line);
        }"#);
    let started = Instant::now();
    let error = run(&flood, json!({})).await.unwrap_err();
    assert_eq!(error.code, SandboxErrorCode::OutputTooLarge);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let kept: usize = error.logs.iter().map(|l| l.len() + 1).sum();
    assert!(kept <= Limits::default().log_bytes);

    let huge_output = js(r#"export default function run() { return "y".repeat(2 * 1024 * 1024) }"#);
    assert_eq!(
        code(run(&huge_output, json!({})).await),
        SandboxErrorCode::OutputTooLarge
    );
}

#[tokio::test]
async fn a_script_has_no_filesystem_environment_or_network_to_reach() {
    let _quiet = QUIET.read().await;
    let probe = js(r#"
        export default function run() {
          return [typeof require, typeof process, typeof Deno, typeof fetch,
                  typeof XMLHttpRequest, typeof WebSocket, typeof std, typeof os];
        }"#);
    let output = run(&probe, json!({})).await.unwrap();
    assert_eq!(output.output, json!(vec!["undefined"; 8]));
    let import = js(r#"import { readFileSync } from "fs";
        export default function run() { return readFileSync("/etc/passwd", "utf8") }"#);
    assert_eq!(
        code(run(&import, json!({})).await),
        SandboxErrorCode::ScriptError
    );
}

#[tokio::test]
async fn a_module_cannot_open_etc_passwd_through_any_descriptor() {
    let _quiet = QUIET.read().await;
    let open = wasi_command(
        r#"(import "wasi_snapshot_preview1" "path_open"
             (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
           (import "wasi_snapshot_preview1" "fd_prestat_get"
             (func $fd_prestat_get (param i32 i32) (result i32)))"#,
        r#"(loop $each
             (if (i32.eqz (call $path_open (local.get $fd) (i32.const 0) (i32.const 300) (i32.const 11)
                            (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 1024)))
               (then (local.set $failures (i32.add (local.get $failures) (i32.const 1)))))
             (if (i32.eqz (call $fd_prestat_get (local.get $fd) (i32.const 1024)))
               (then (local.set $failures (i32.add (local.get $failures) (i32.const 1)))))
             (local.set $fd (i32.add (local.get $fd) (i32.const 1)))
             (br_if $each (i32.lt_u (local.get $fd) (i32.const 64))))
           (if (local.get $failures) (then (call $print_yes)) (else (call $print_no)))"#,
    );
    let output = run(&open, json!({})).await.unwrap();
    assert_eq!(
        output.output,
        json!({ "ok": false }),
        "a descriptor opened /etc/passwd"
    );
}

#[tokio::test]
async fn a_module_sees_no_environment_variables_and_no_arguments_but_its_name() {
    let _quiet = QUIET.read().await;
    // SAFETY: only this test reads or writes this variable.
    unsafe { std::env::set_var("WEFT_SANDBOX_CANARY", "host-secret") };
    let env = wasi_command(
        r#"(import "wasi_snapshot_preview1" "environ_sizes_get"
             (func $environ_sizes_get (param i32 i32) (result i32)))
           (import "wasi_snapshot_preview1" "args_sizes_get"
             (func $args_sizes_get (param i32 i32) (result i32)))"#,
        r#"(drop (call $environ_sizes_get (i32.const 1024) (i32.const 1028)))
           (drop (call $args_sizes_get (i32.const 1032) (i32.const 1036)))
           (if (i32.and (i32.eqz (i32.load (i32.const 1024))) (i32.eq (i32.load (i32.const 1032)) (i32.const 1)))
             (then (call $print_no)) (else (call $print_yes)))"#,
    );
    let output = run(&env, json!({})).await.unwrap();
    assert_eq!(
        output.output,
        json!({ "ok": false }),
        "the module saw environment or arguments"
    );
}

#[tokio::test]
async fn a_module_cannot_use_a_socket() {
    let _quiet = QUIET.read().await;
    let sockets = wasi_command(
        r#"(import "wasi_snapshot_preview1" "sock_accept"
             (func $sock_accept (param i32 i32 i32) (result i32)))
           (import "wasi_snapshot_preview1" "sock_send"
             (func $sock_send (param i32 i32 i32 i32 i32) (result i32)))"#,
        r#"(i32.store (i32.const 1040) (i32.const 100))
           (i32.store (i32.const 1044) (i32.const 11))
           (loop $each
             (if (i32.eqz (call $sock_accept (local.get $fd) (i32.const 0) (i32.const 1024)))
               (then (local.set $failures (i32.add (local.get $failures) (i32.const 1)))))
             (if (i32.eqz (call $sock_send (local.get $fd) (i32.const 1040) (i32.const 1) (i32.const 0) (i32.const 1048)))
               (then (local.set $failures (i32.add (local.get $failures) (i32.const 1)))))
             (local.set $fd (i32.add (local.get $fd) (i32.const 1)))
             (br_if $each (i32.lt_u (local.get $fd) (i32.const 64))))
           (if (local.get $failures) (then (call $print_yes)) (else (call $print_no)))"#,
    );
    let output = run(&sockets, json!({})).await.unwrap();
    assert_eq!(
        output.output,
        json!({ "ok": false }),
        "a socket call succeeded"
    );
    // Sockets are not even importable beyond preview 1's four calls on inherited sockets.
    let connect = wat(r#"(module
        (import "wasi_snapshot_preview1" "sock_open" (func (param i32 i32 i32) (result i32)))
        (memory (export "memory") 1) (func (export "_start")))"#);
    assert_eq!(
        code(run(&connect, json!({})).await),
        SandboxErrorCode::InvalidModule
    );
}

#[tokio::test]
async fn a_global_left_by_one_run_is_gone_in_the_next() {
    let _quiet = QUIET.read().await;
    let program = js(r#"
        export default function run() {
          const seen = globalThis.leftBehind;
          globalThis.leftBehind = "from an earlier run";
          Object.prototype.polluted = true;
          return { seen: seen ?? null, polluted: ({}).polluted ?? null };
        }"#);
    let first = run(&program, json!({})).await.unwrap();
    let second = run(&program, json!({})).await.unwrap();
    assert_eq!(first.output, json!({ "seen": null, "polluted": true }));
    assert_eq!(second.output, first.output);

    let counter = wasi_command(
        "(global $runs (mut i32) (i32.const 0))",
        "(global.set $runs (i32.add (global.get $runs) (i32.const 1)))
         (if (i32.eq (global.get $runs) (i32.const 1)) (then (call $print_yes)) (else (call $print_no)))",
    );
    for _ in 0..2 {
        assert_eq!(
            run(&counter, json!({})).await.unwrap().output,
            json!({ "ok": true })
        );
    }
}

#[tokio::test]
async fn programs_over_the_size_limit_are_refused() {
    let _quiet = QUIET.read().await;
    let sandbox = sandbox().await;
    let module = Program::Wasm {
        module: vec![0; MAX_MODULE_BYTES + 1],
    };
    let source = js(&format!("// {}", "x".repeat(MAX_SOURCE_BYTES)));
    for program in [module, source] {
        assert_eq!(
            sandbox.check_program(&program).unwrap_err().code,
            SandboxErrorCode::ModuleTooLarge
        );
        assert_eq!(
            code(run(&program, json!({})).await),
            SandboxErrorCode::ModuleTooLarge
        );
    }
}

#[tokio::test]
async fn modules_that_are_not_wasi_commands_are_invalid() {
    let _quiet = QUIET.read().await;
    let sandbox = sandbox().await;
    let cases = [
        Program::Wasm {
            module: b"\0asm-not-really".to_vec(),
        },
        wat(r#"(module (memory (export "memory") 1))"#),
        wat(r#"(module (import "env" "host_call" (func)) (func (export "_start")))"#),
    ];
    for program in cases {
        assert_eq!(
            sandbox.check_program(&program).unwrap_err().code,
            SandboxErrorCode::InvalidModule
        );
    }
    let not_json = wasi_command("", "(call $print (i32.const 300) (i32.const 11))");
    assert_eq!(
        code(run(&not_json, json!({})).await),
        SandboxErrorCode::InvalidOutput
    );
    let exits = wasi_command(
        r#"(import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))"#,
        "(call $exit (i32.const 3))",
    );
    assert_eq!(
        code(run(&exits, json!({})).await),
        SandboxErrorCode::ScriptError
    );
}

#[tokio::test]
async fn a_raw_module_reads_its_input_and_writes_its_output() {
    let _quiet = QUIET.read().await;
    // Echoes stdin to stdout: its output is the whole request, `{"input":…,"ctx":…}`.
    let echo = wat(r#"(module
        (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "_start")
          (i32.store (i32.const 0) (i32.const 64))
          (i32.store (i32.const 4) (i32.const 60000))
          (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
          (i32.store (i32.const 4) (i32.load (i32.const 8)))
          (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#);
    let output = run(&echo, json!({ "greeting": "hi" })).await.unwrap();
    assert_eq!(
        output.output,
        json!({ "input": { "greeting": "hi" }, "ctx": {} })
    );
}

#[tokio::test]
async fn a_hundred_runs_at_once_with_one_hostile_all_finish_and_the_others_are_right() {
    let _quiet = QUIET.read().await;
    let sandbox = sandbox().await;
    let doubler = js("export default function run(input) { return input.n * 2 }");
    let hostile = js("export default function run() { while (true) {} }");
    let started = Instant::now();
    let runs = (0..100).map(|n| {
        let sandbox = sandbox.clone();
        let program = if n == 37 {
            hostile.clone()
        } else {
            doubler.clone()
        };
        tokio::spawn(async move {
            sandbox
                .run(
                    &program,
                    &json!({ "n": n }),
                    &json!({}),
                    &Limits::default(),
                    CancellationToken::new(),
                )
                .await
        })
    });
    let results = futures::future::join_all(runs).await;
    for (n, result) in results.into_iter().enumerate() {
        let result = result.expect("the task did not panic");
        if n == 37 {
            assert_eq!(code(result), SandboxErrorCode::Timeout);
        } else {
            assert_eq!(result.unwrap().output, json!(n * 2), "run {n}");
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn cancelling_stops_a_running_script() {
    let _quiet = QUIET.read().await;
    let sandbox = sandbox().await;
    let cancel = CancellationToken::new();
    let limits = Limits {
        cpu: Duration::from_secs(20),
        ..Limits::default()
    };
    let stopper = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        stopper.cancel();
    });
    let started = Instant::now();
    let result = sandbox
        .run(
            &js("export default function run() { for (;;) {} }"),
            &json!({}),
            &json!({}),
            &limits,
            cancel,
        )
        .await;
    assert_eq!(code(result), SandboxErrorCode::Cancelled);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}
