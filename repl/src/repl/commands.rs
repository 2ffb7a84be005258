//! The REPL's `:commands`: parsing and help.

/// Every command, with its argument and what it does (for `:help` and
/// completion).
pub const COMMANDS: &[(&str, &str, &str)] = &[
    (":help", "", "show this help"),
    (":quit", "", "leave the REPL (also Ctrl-D)"),
    (":load", "FILE", "compile FILE into the session: its functions are defined, its top-level lets become variables"),
    (":ps", "", "list the processes: pid, name, status, what each waits on, reductions, mailbox, memory"),
    (":kill", "PID", "kill a process (`:kill <0.5>`, `:kill 5`, or a variable holding a pid)"),
    (":disasm", "NAME", "show the bytecode of a function (`:disasm f`, `:disasm list.map`; no NAME: the last entry)"),
    (":reset", "", "start over: a fresh VM, a fresh shell process, no variables or functions"),
    (":time", "EXPR", "evaluate EXPR, then show the wall time and reductions it took"),
    (":top", "", "the process table, busiest first, refreshed every second until Enter or Ctrl-C"),
    (":trace", "PID", "show a process's messages (sent and received) and its exit as they happen; `:trace off` stops"),
];

/// A line the user typed that starts with `:`.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Help,
    Quit,
    Load(String),
    Ps,
    Top,
    Trace(String),
    Kill(String),
    Disasm(String),
    Reset,
    Time(String),
    /// A mistake: the message to show.
    Bad(String),
}

/// Is this entry a command (rather than Weft code)? A line starting with
/// `:` followed by a letter; `:ok` alone is an atom, so only known command
/// names count.
pub fn is_command(text: &str) -> bool {
    let text = text.trim_start();
    let Some(rest) = text.strip_prefix(':') else {
        return false;
    };
    let word: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    if word.is_empty() {
        return false;
    }
    // `:ok`, `:error` and friends are atoms: an entry like `:ok` evaluates
    // to the atom. Only a known command (or something followed by an
    // argument, which an atom can't be) is taken as a command.
    find(&word).is_some()
        || rest[word.len()..].starts_with(' ') && !looks_like_code(&rest[word.len()..])
}

/// After `:name `, code-like text means the line is an expression that
/// starts with an atom (`:a == :b`), not a command with an argument.
fn looks_like_code(rest: &str) -> bool {
    let rest = rest.trim_start();
    rest.is_empty()
        || rest.starts_with(|c: char| "=!<>+-*/%&|^.,)]};".contains(c))
        || rest.starts_with("and ")
        || rest.starts_with("or ")
}

/// The full command name for a name or its first letter (`:h` is `:help`,
/// `:q` is `:quit`, as in ghci).
pub fn find(word: &str) -> Option<&'static str> {
    COMMANDS
        .iter()
        .find(|(name, _, _)| &name[1..] == word || word.len() == 1 && name[1..].starts_with(word))
        .map(|(name, _, _)| *name)
}

/// Does the command take an expression that may need more lines (`:time`)?
pub fn expression_argument(text: &str) -> Option<&str> {
    let text = text.trim_start().strip_prefix(':')?;
    let word: String = text
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    if find(&word) == Some(":time") {
        Some(&text[word.len()..])
    } else {
        None
    }
}

pub fn parse(text: &str) -> Command {
    let text = text.trim();
    let rest = text.strip_prefix(':').unwrap_or(text);
    let word: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    let argument = rest[word.len()..].trim().to_string();
    let Some(name) = find(&word) else {
        return Command::Bad(format!(
            "unknown command :{word} (:help lists the commands)"
        ));
    };
    let needs = |what: &str| Command::Bad(format!("{name} needs {what}"));
    match name {
        ":help" => Command::Help,
        ":quit" => Command::Quit,
        ":ps" => Command::Ps,
        ":top" => Command::Top,
        ":trace" if argument.is_empty() => needs("a pid, like <0.5> or 5, or `off`"),
        ":trace" => Command::Trace(argument),
        ":reset" => Command::Reset,
        ":load" if argument.is_empty() => needs("a file name"),
        ":load" => Command::Load(unquote(&argument)),
        ":kill" if argument.is_empty() => needs("a pid, like <0.5> or 5"),
        ":kill" => Command::Kill(argument),
        ":disasm" => Command::Disasm(argument),
        ":time" if argument.is_empty() => needs("an expression"),
        ":time" => Command::Time(argument),
        _ => Command::Bad(format!("unknown command {name}")),
    }
}

/// `:load "my file.weft"` and `:load my_file.weft` both work.
fn unquote(argument: &str) -> String {
    let trimmed = argument.trim();
    if trimmed.len() >= 2 && trimmed.starts_with('"') && trimmed.ends_with('"') {
        trimmed[1..trimmed.len() - 1].to_string()
    } else {
        trimmed.to_string()
    }
}

/// Parses `<0.5>`, `0.5` or `5` to the serial number 5.
pub fn parse_pid(text: &str) -> Option<u32> {
    let text = text.trim();
    let text = text
        .strip_prefix('<')
        .and_then(|t| t.strip_suffix('>'))
        .unwrap_or(text);
    let serial = text.strip_prefix("0.").unwrap_or(text);
    serial.parse().ok()
}

pub fn help_text() -> String {
    let mut text = String::from(
        "Type Weft code to evaluate it; its value is shown. `let` bindings and `fn` definitions\n\
         persist; redefining a function changes what running processes call next.\n\
         An entry continues on the next line (`...>`) while a bracket is open or a line ends\n\
         in an operator. `self()` is the shell process; `flush()` shows and empties its mailbox.\n\n\
         Commands:\n",
    );
    for (name, argument, what) in COMMANDS {
        let usage = if argument.is_empty() {
            name.to_string()
        } else {
            format!("{name} {argument}")
        };
        text.push_str(&format!("  {usage:<14} {what}\n"));
    }
    text.push_str(
        "\nKeys: Tab completes names and module members (`list.<Tab>`); Ctrl-C interrupts a\n\
         running entry or clears the line; Ctrl-C twice on an empty line, or Ctrl-D, exits.\n\
         History is kept in ~/.weft_history.\n",
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_atoms() {
        assert!(is_command(":help"));
        assert!(is_command(":h"));
        assert!(is_command(":load x.weft"));
        assert!(is_command(":bogus arg"));
        assert!(!is_command(":ok"));
        assert!(!is_command(":ok == :ok"));
        assert!(!is_command("(:ok, 1)"));
        assert_eq!(parse(":t 1 + 2"), Command::Time("1 + 2".into()));
        assert_eq!(parse(":top"), Command::Top);
        assert_eq!(parse(":trace 5"), Command::Trace("5".into()));
        assert_eq!(
            parse(":load \"a b.weft\""),
            Command::Load("a b.weft".into())
        );
        assert!(matches!(parse(":kill"), Command::Bad(_)));
        assert_eq!(parse_pid("<0.5>"), Some(5));
        assert_eq!(parse_pid("0.7"), Some(7));
        assert_eq!(parse_pid("12"), Some(12));
        assert_eq!(parse_pid("x"), None);
        assert_eq!(expression_argument(":time [1,"), Some(" [1,"));
    }
}
