//! Checks on the GitHub workflows beyond actionlint's: every command a `run:`
//! step gives that belongs to this project exists (an xtask command, a
//! script, a test target, an example, a package).

use std::path::Path;

/// The `run:` commands of a workflow, one string per logical line.
pub fn run_lines(workflow: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut block: Option<usize> = None;
    for line in workflow.lines() {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim();
        if let Some(min) = block {
            if trimmed.is_empty() || indent >= min {
                if !trimmed.is_empty() && !trimmed.starts_with('#') {
                    out.push(trimmed.to_string());
                }
                continue;
            }
            block = None;
        }
        let Some(rest) = trimmed.strip_prefix("run:").or_else(|| trimmed.strip_prefix("- run:")) else { continue };
        let rest = rest.trim();
        if rest.starts_with('|') || rest.starts_with('>') {
            block = Some(indent + 1);
        } else if !rest.is_empty() {
            out.push(rest.trim_matches('"').to_string());
        }
    }
    out
}

/// Problems with the project commands in `workflow` (empty when all exist).
/// `xtask_commands` are the commands `cargo xtask` knows.
pub fn missing_commands(root: &Path, workflow: &str, xtask_commands: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    let packages = ["utun", "utun-sys", "utun-tests", "xtask"];
    for line in run_lines(workflow) {
        let words: Vec<&str> = line.split_whitespace().collect();
        for (i, w) in words.iter().enumerate() {
            let next = words.get(i + 1).copied().unwrap_or("");
            match *w {
                "xtask" if i > 0 && words[i - 1] == "cargo" && !xtask_commands.contains(&next) => {
                    problems.push(format!("`{line}`: cargo xtask has no command {next:?}"));
                }
                "bash" | "sh" | "node" if !next.is_empty() && !next.starts_with('-') && !root.join(next).is_file() => {
                    problems.push(format!("`{line}`: {next} does not exist"));
                }
                "--test" => {
                    let found = ["tests/tests", "utun/tests"].iter().any(|dir| {
                        root.join(dir).join(format!("{next}.rs")).is_file()
                            || root.join(dir).join(next).join("main.rs").is_file()
                    });
                    if !found {
                        problems.push(format!("`{line}`: no test target {next}"));
                    }
                }
                "--example" => {
                    let dir = root.join("tests/examples");
                    if !dir.join(format!("{next}.rs")).is_file() && !dir.join(next).join("main.rs").is_file() {
                        problems.push(format!("`{line}`: no example {next}"));
                    }
                }
                "-p" | "--package" if !packages.contains(&next) => {
                    problems.push(format!("`{line}`: no package {next} in the workspace"));
                }
                _ => {}
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> std::path::PathBuf {
        crate::util::root()
    }

    #[test]
    fn every_command_the_real_workflows_run_exists() {
        let dir = root().join(".github/workflows");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            seen += run_lines(&text).len();
            let problems = missing_commands(&root(), &text, crate::COMMANDS);
            assert!(problems.is_empty(), "{}: {problems:#?}", path.display());
        }
        assert!(seen > 5, "found only {seen} run lines: the parser is broken");
    }

    #[test]
    fn a_missing_command_is_reported() {
        let wf = "jobs:\n  a:\n    steps:\n      - run: cargo xtask no-such-command\n      - name: x\n        run: |\n          bash .ci/no-such-script\n          cargo test -p utun-tests --test no_such_test\n          cargo build -p nope --example nope\n";
        let problems = missing_commands(&root(), wf, crate::COMMANDS);
        assert_eq!(problems.len(), 5, "{problems:#?}");
        assert_eq!(run_lines(wf).len(), 4);
    }
}
