//! The parts of Weft's standard library written in Weft.
//!
//! The library has one home per module: a module written in Rust is one
//! file of `vm/src/natives/` (including the functions that call back into
//! Weft, such as `list.map`, which continue in Rust after the call — see
//! `vm/src/continuation.rs`), and a module written in Weft is one file
//! here. ARCHITECTURE.md ("The standard library") says why the Rust half
//! lives in the VM. Each source is compiled when a VM starts, as module
//! `NAME`, so its top-level `fn f` becomes `NAME.f`.

/// A library module written in Weft.
pub struct Module {
    pub name: &'static str,
    pub source: &'static str,
    /// The functions programs call (the rest are its own helpers). The VM
    /// declares these at start-up and compiles the module only when a
    /// program calls one, so a script that does not use it does not pay
    /// for compiling it.
    pub api: &'static [&'static str],
}

/// The library's Weft modules.
pub const MODULES: &[Module] = &[
    // A generic server (gen_server's shape).
    Module {
        name: "server",
        source: include_str!("server.weft"),
        api: &["start", "start_link", "call", "cast", "reply", "stop"],
    },
    // Supervision trees: one_for_one, one_for_all, rest_for_one, intensity.
    Module {
        name: "supervisor",
        source: include_str!("supervisor.weft"),
        api: &["start", "which_children", "stop"],
    },
    // process.migrate, over the Rust natives of `process`.
    Module {
        name: "process",
        source: include_str!("process.weft"),
        api: &["migrate"],
    },
];

/// The names of a module source's top-level functions (each `fn NAME(` at
/// the start of a line).
pub fn functions(source: &str) -> impl Iterator<Item = &str> {
    source.lines().filter_map(|line| {
        let rest = line.strip_prefix("fn ")?;
        let name = &rest[..rest.find('(')?];
        Some(name.trim())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_api_function_is_defined_by_its_module() {
        for module in MODULES {
            let defined: Vec<&str> = functions(module.source).collect();
            for name in module.api {
                assert!(
                    defined.contains(name),
                    "{}.{name} is not defined",
                    module.name
                );
            }
        }
    }
}
