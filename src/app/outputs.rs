//! The report files of a run (`--json`, `--junit`, `--markdown`): checked before the first
//! call, rewritten whole after every scenario so a run that is killed keeps what it
//! measured, and written once more at the end. At most one of them goes to standard output
//! (`-`); the console table then goes to standard error.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::cli::RunArgs;
use crate::report::{self, Report};

/// One renderer of the report model, named by its flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Json,
    Junit,
    Markdown,
}

impl Format {
    fn flag(self) -> &'static str {
        match self {
            Format::Json => "--json",
            Format::Junit => "--junit",
            Format::Markdown => "--markdown",
        }
    }

    fn render(self, report: &Report, out: &mut impl Write) -> std::io::Result<()> {
        match self {
            Format::Json => report::json::render(report, out),
            Format::Junit => report::junit::render(report, out),
            Format::Markdown => report::markdown::render(report, out),
        }
    }
}

/// The reports the command line asked for, each with where it goes.
#[derive(Debug)]
pub struct Outputs {
    reports: Vec<(Format, PathBuf)>,
}

fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

impl Outputs {
    /// The reports of `args`; refuses two of them on standard output, or two in one file,
    /// where one would overwrite the other.
    pub fn new(args: &RunArgs) -> anyhow::Result<Self> {
        let reports: Vec<(Format, PathBuf)> = [
            (Format::Json, &args.json),
            (Format::Junit, &args.junit),
            (Format::Markdown, &args.markdown),
        ]
        .into_iter()
        .filter_map(|(f, p)| p.clone().map(|p| (f, p)))
        .collect();
        for (i, (a, pa)) in reports.iter().enumerate() {
            for (b, pb) in &reports[i + 1..] {
                if pa != pb {
                    continue;
                }
                if is_stdout(pa) {
                    bail!(
                        "{} and {} both write to standard output (`-`): only one report can go there; give the other a file",
                        a.flag(),
                        b.flag()
                    );
                }
                bail!(
                    "{} and {} both write {}: give each report its own file",
                    a.flag(),
                    b.flag(),
                    pa.display()
                );
            }
        }
        Ok(Outputs { reports })
    }

    /// Checks that every report file can be written, so a typo in a path fails before
    /// anything runs. Leaves no file.
    pub fn check(&self) -> anyhow::Result<()> {
        for (format, path) in self.files() {
            let flag = format.flag();
            if path.is_dir() {
                bail!("{flag} {}: is a folder; give a file name", path.display());
            }
            let parent = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            if !parent.is_dir() {
                let why = if parent.exists() {
                    "is not a folder"
                } else {
                    "does not exist"
                };
                bail!("{flag} {}: {} {why}", path.display(), parent.display());
            }
            let tmp = partial_path(path);
            std::fs::File::create(&tmp)
                .with_context(|| format!("{flag} {}: cannot write", path.display()))?;
            let _ = std::fs::remove_file(&tmp);
        }
        Ok(())
    }

    /// Rewrites every report that goes to a file (standard output is written once, at the
    /// end, by [`Outputs::finish`]).
    pub fn write_files(&self, report: &Report) -> anyhow::Result<()> {
        for (format, path) in self.files() {
            write_whole(*format, path, report)?;
        }
        Ok(())
    }

    /// The end of the run: every file, then the report on standard output if one goes
    /// there, with the console table on standard error; else the table on standard output.
    pub fn finish(&self, report: &Report) -> anyhow::Result<()> {
        self.write_files(report)?;
        let printed = match self.reports.iter().find(|(_, p)| is_stdout(p)) {
            Some((format, _)) => {
                let mut out = std::io::stdout().lock();
                format
                    .render(report, &mut out)
                    .and_then(|()| out.flush())
                    .and_then(|()| report::console::render(report, &mut std::io::stderr().lock()))
            }
            None => report::console::render(report, &mut std::io::stdout().lock()),
        };
        quiet_on_closed_pipe(printed)?;
        Ok(())
    }

    fn files(&self) -> impl Iterator<Item = &(Format, PathBuf)> {
        self.reports.iter().filter(|(_, p)| !is_stdout(p))
    }
}

/// A reader that closed the pipe (`flipcheck run | head -1`) has read all it wanted: the
/// run ends quietly with its verdict's exit code, the report files already written.
pub(super) fn quiet_on_closed_pipe(printed: std::io::Result<()>) -> std::io::Result<()> {
    match printed {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// `out.json` → `out.json.partial`: the report being written, beside its final name so the
/// rename stays on one file system.
fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// Writes one report whole: to a temporary file first, then renamed over the old one, so a
/// reader (a CI step, a person tailing a long run) never sees half a report. On failure
/// the temporary file is removed.
fn write_whole(format: Format, path: &Path, report: &Report) -> anyhow::Result<()> {
    let tmp = partial_path(path);
    let written = std::fs::File::create(&tmp)
        .map_err(anyhow::Error::from)
        .and_then(|file| {
            let mut out = std::io::BufWriter::new(file);
            format.render(report, &mut out)?;
            // Flushed here, not on drop, where a failed write would go unnoticed.
            out.flush()?;
            Ok(())
        })
        .and_then(|()| std::fs::rename(&tmp, path).map_err(Into::into));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.context(format!("cannot write {}", path.display())));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn outputs(args: &[&str]) -> anyhow::Result<Outputs> {
        let cli = crate::cli::Cli::try_parse_from([&["flipcheck", "run"], args].concat())?;
        let crate::cli::Command::Run(run) = cli.command else {
            unreachable!()
        };
        Outputs::new(&run)
    }

    #[test]
    fn one_report_at_most_on_standard_output_and_one_per_file() {
        assert!(outputs(&["--json", "-", "--junit", "j.xml", "--markdown", "m.md"]).is_ok());
        assert_eq!(
            outputs(&["--json", "r.json", "--junit", "-", "--markdown", "-"])
                .unwrap_err()
                .to_string(),
            "--junit and --markdown both write to standard output (`-`): only one report can go there; give the other a file"
        );
        assert_eq!(
            outputs(&["--json", "same", "--markdown", "same"])
                .unwrap_err()
                .to_string(),
            "--json and --markdown both write same: give each report its own file"
        );
    }

    #[test]
    fn every_file_is_written_whole_and_standard_output_is_left_for_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name).display().to_string();
        let (j, x) = (path("r.json"), path("r.xml"));
        let out = outputs(&["--json", &j, "--junit", &x, "--markdown", "-"]).unwrap();
        out.check().unwrap();
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "no file left"
        );
        let report = crate::report::test_fixtures::sample_report();
        out.write_files(&report).unwrap();
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["r.json", "r.xml"]);
        assert!(!Path::new("-").exists());
        let xml = std::fs::read_to_string(&x).unwrap();
        roxmltree::Document::parse(&xml).expect("whole XML");
    }
}
