//! `--sname NAME`, `--name NAME@HOST` and `--cookie C` (LANGUAGE.md §12):
//! the flags that make `weft run` and the REPL a node of an Erlang cluster.

use std::sync::OnceLock;

use weft_node::{Node, NodeOptions};
use weft_vm::Vm;

/// The node flags given on the command line.
#[derive(Clone, Default)]
pub struct NodeArgs {
    pub name: Option<String>,
    pub long_names: bool,
    pub cookie: Option<String>,
}

/// Set once by `main` before a run or the REPL starts.
pub static NODE_ARGS: OnceLock<NodeArgs> = OnceLock::new();

/// The exit status when the node cannot start (sysexits' EX_UNAVAILABLE).
pub const EXIT_UNAVAILABLE: u8 = 69;

impl NodeArgs {
    /// The flags make sense together (checked once all are read).
    pub fn check(&self) -> Result<(), String> {
        if self.cookie.is_some() && self.name.is_none() {
            return Err("--cookie needs --sname or --name".to_string());
        }
        Ok(())
    }

    /// Takes a node flag at the front of `rest`: how many arguments it
    /// used (0: not a node flag), or a usage error.
    pub fn take(&mut self, rest: &[String]) -> Result<usize, String> {
        let Some(flag) = rest.first() else {
            return Ok(0);
        };
        let long = match flag.as_str() {
            "--sname" => false,
            "--name" => true,
            "--cookie" => {
                let cookie = rest.get(1).ok_or("--cookie needs a cookie")?;
                self.cookie = Some(cookie.clone());
                return Ok(2);
            }
            _ => return Ok(0),
        };
        let name = rest
            .get(1)
            .ok_or_else(|| format!("{flag} needs a node name"))?;
        if self.name.is_some() {
            return Err("give one of --sname and --name, once".to_string());
        }
        self.name = Some(name.clone());
        self.long_names = long;
        Ok(2)
    }
}

/// Makes `vm` a node if the command line asked for one.
pub fn start(vm: &mut Vm) -> Result<Option<Node>, String> {
    let Some(args) = NODE_ARGS.get() else {
        return Ok(None);
    };
    let Some(name) = &args.name else {
        return Ok(None);
    };
    let mut options = NodeOptions::new(name);
    options.long_names = args.long_names;
    options.cookie = args.cookie.clone();
    weft_node::start(vm, options)
        .map(Some)
        .map_err(|e| format!("cannot start node {name}: {e}"))
}
