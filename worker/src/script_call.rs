//! apalis-redis's script calls, told apart on the queue's connection by their arguments.

use redis::{Arg, Cmd};

/// `cmd`'s arguments as bytes, the verb first, if it calls a Lua script (`EVALSHA`, or `EVAL`
/// when the script was not loaded) with `keys` keys.
pub fn script_call<'a>(cmd: &'a Cmd, keys: &[u8]) -> Option<Vec<&'a [u8]>> {
    let args: Vec<&[u8]> = cmd
        .args_iter()
        .map(|arg| match arg {
            Arg::Simple(bytes) => bytes,
            _ => &[],
        })
        .collect();
    let [verb, _script, count, ..] = args.as_slice() else {
        return None;
    };
    let is_script = verb.eq_ignore_ascii_case(b"EVALSHA") || verb.eq_ignore_ascii_case(b"EVAL");
    (is_script && *count == keys).then_some(args)
}
