//! A small interpreter for btest `@TEST-EXEC` lines: just the shell subset Zeek's tests use
//! (`&&`, `||`, `|`, `!`, `<`, `>`, `>>`, `2>&1`, `>&2`, env prefixes, quotes, `$TRACES`),
//! with the commands implemented in-process and `zeek` replaced by weir.

use crate::canon::CutSpec;
use crate::manifest::Test;
use crate::zeek::{translate, Invocation};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    Word(String),
    And,
    Or,
    Pipe,
    Not,
    /// fd, append, target
    Out(u32, bool, String),
    In(String),
    /// `2>&1`, `>&2`: descriptor duplication; stdout to stderr when the first is 1.
    Dup(u32, u32),
}

/// Splits one exec line into tokens, expanding `$TRACES`/`${TRACES}` and `$SCRIPTS`.
pub fn lex(line: &str, traces: &str) -> Result<Vec<Tok>, String> {
    let c: Vec<char> = line.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    let expand = |s: &str| -> String {
        s.replace("${TRACES}", traces)
            .replace("$TRACES", traces)
            .replace("${SCRIPTS}", "$SCRIPTS")
    };
    // Reads one word starting at i; returns (word, next index, was_quoted).
    let read_word = |mut i: usize| -> Result<(String, usize), String> {
        let mut w = String::new();
        while i < c.len() {
            let ch = c[i];
            if ch.is_whitespace() || ch == '|' || ch == '&' || ch == '<' || ch == '>' || ch == ';' {
                break;
            }
            if ch == '\'' {
                let end = c[i + 1..].iter().position(|&x| x == '\'').ok_or("unterminated '")?;
                w.extend(&c[i + 1..i + 1 + end]);
                i += end + 2;
            } else if ch == '"' {
                let mut j = i + 1;
                let mut s = String::new();
                while j < c.len() && c[j] != '"' {
                    if c[j] == '\\' && j + 1 < c.len() && "\"\\$`".contains(c[j + 1]) {
                        s.push(c[j + 1]);
                        j += 2;
                    } else {
                        s.push(c[j]);
                        j += 1;
                    }
                }
                if j >= c.len() {
                    return Err("unterminated \"".into());
                }
                if s.contains("$(") || s.contains('`') {
                    return Err("command substitution is not supported".into());
                }
                w.push_str(&expand(&s));
                i = j + 1;
            } else if ch == '$' && c.get(i + 1) == Some(&'(') {
                return Err("command substitution is not supported".into());
            } else if ch == '\\' && i + 1 < c.len() {
                w.push(c[i + 1]);
                i += 2;
            } else {
                let start = i;
                while i < c.len() && !c[i].is_whitespace() && !"|&<>;'\"\\".contains(c[i]) {
                    if c[i] == '$' && c.get(i + 1) == Some(&'(') {
                        break;
                    }
                    i += 1;
                }
                let raw: String = c[start..i].iter().collect();
                w.push_str(&expand(&raw));
                if i == start {
                    // `$(`: handled next round.
                    if c[i] == '$' {
                        return Err("command substitution is not supported".into());
                    }
                }
            }
        }
        Ok((w, i))
    };
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
            continue;
        }
        let rest: String = c[i..c.len().min(i + 4)].iter().collect();
        if rest.starts_with("&&") {
            toks.push(Tok::And);
            i += 2;
        } else if rest.starts_with("||") {
            toks.push(Tok::Or);
            i += 2;
        } else if ch == '|' {
            toks.push(Tok::Pipe);
            i += 1;
        } else if ch == ';' {
            return Err("`;` inside an exec line is not supported".into());
        } else if ch == '!'
            && c.get(i + 1).map(|x| x.is_whitespace()).unwrap_or(false)
            && matches!(
                toks.last(),
                None | Some(Tok::And) | Some(Tok::Or) | Some(Tok::Pipe) | Some(Tok::Not)
            )
        {
            toks.push(Tok::Not);
            i += 1;
        } else if rest.starts_with("2>&1") {
            toks.push(Tok::Dup(2, 1));
            i += 4;
        } else if rest.starts_with(">&2") || rest.starts_with("1>&2") {
            toks.push(Tok::Dup(1, 2));
            i += if rest.starts_with('1') { 4 } else { 3 };
        } else if ch == '>' || ch == '<' || (ch.is_ascii_digit() && c.get(i + 1) == Some(&'>')) {
            let mut fd = 1;
            if ch.is_ascii_digit() {
                fd = ch.to_digit(10).unwrap();
                i += 1;
            }
            let is_in = c[i] == '<';
            let append = !is_in && c.get(i + 1) == Some(&'>');
            i += if append { 2 } else { 1 };
            while i < c.len() && c[i].is_whitespace() {
                i += 1;
            }
            let (w, ni) = read_word(i)?;
            if w.is_empty() {
                return Err("redirection without target".into());
            }
            i = ni;
            toks.push(if is_in { Tok::In(w) } else { Tok::Out(fd, append, w) });
        } else if ch == '&' {
            return Err("background jobs are not supported".into());
        } else {
            let (w, ni) = read_word(i)?;
            i = ni;
            toks.push(Tok::Word(w));
        }
    }
    Ok(toks)
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimpleCmd {
    pub env: Vec<(String, String)>,
    pub argv: Vec<String>,
    pub redirs: Vec<Tok>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pipeline {
    pub negate: bool,
    pub cmds: Vec<SimpleCmd>,
}

/// `a && b || c`: pipelines with the operator that precedes each (None for the first).
pub type AndOr = Vec<(Option<Tok>, Pipeline)>;

pub fn parse(toks: Vec<Tok>) -> Result<AndOr, String> {
    let mut out: AndOr = Vec::new();
    let mut op = None;
    let mut pl = Pipeline::default();
    let mut cmd = SimpleCmd::default();
    let flush_cmd = |pl: &mut Pipeline, cmd: &mut SimpleCmd| -> Result<(), String> {
        if cmd.argv.is_empty() {
            return Err("empty command".into());
        }
        pl.cmds.push(std::mem::take(cmd));
        Ok(())
    };
    for t in toks {
        match t {
            Tok::Word(w) => {
                let is_env = cmd.argv.is_empty()
                    && w.find('=').is_some_and(|i| {
                        i > 0
                            && w[..i]
                                .chars()
                                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                    });
                if is_env {
                    let i = w.find('=').unwrap();
                    cmd.env.push((w[..i].to_string(), w[i + 1..].to_string()));
                } else {
                    cmd.argv.push(w);
                }
            }
            Tok::Not => {
                if !cmd.argv.is_empty() || !pl.cmds.is_empty() {
                    return Err("misplaced !".into());
                }
                pl.negate = !pl.negate;
            }
            Tok::Pipe => flush_cmd(&mut pl, &mut cmd)?,
            Tok::And | Tok::Or => {
                flush_cmd(&mut pl, &mut cmd)?;
                out.push((op.take(), std::mem::take(&mut pl)));
                op = Some(t);
            }
            r => cmd.redirs.push(r),
        }
    }
    flush_cmd(&mut pl, &mut cmd)?;
    out.push((op, pl));
    Ok(out)
}

/// Runs weir (or a stand-in in unit tests).
pub trait Engine {
    /// Runs one translated invocation in `dir`; returns (exit status, stdout, stderr).
    fn run(&mut self, inv: &Invocation, dir: &Path, stdin: &[u8]) -> (i32, Vec<u8>, Vec<u8>);
}

/// The real weir binary.
pub struct WeirEngine {
    pub bin: PathBuf,
    pub workers: usize,
    pub timeout: Duration,
}

impl Engine for WeirEngine {
    fn run(&mut self, inv: &Invocation, dir: &Path, stdin: &[u8]) -> (i32, Vec<u8>, Vec<u8>) {
        let mut cmd = Command::new(&self.bin);
        cmd.args(&inv.args)
            .arg("--workers")
            .arg(self.workers.to_string())
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                return (
                    127,
                    Vec::new(),
                    format!("cannot run {}: {e}", self.bin.display()).into_bytes(),
                )
            }
        };
        let mut sin = child.stdin.take().unwrap();
        let data = stdin.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = sin.write_all(&data);
        });
        let mut so = child.stdout.take().unwrap();
        let mut se = child.stderr.take().unwrap();
        let ro = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = std::io::Read::read_to_end(&mut so, &mut v);
            v
        });
        let re = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = std::io::Read::read_to_end(&mut se, &mut v);
            v
        });
        let start = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break s.code().unwrap_or(128),
                Ok(None) if start.elapsed() > self.timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break 124;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(_) => break 126,
            }
        };
        let _ = writer.join();
        let out = ro.join().unwrap_or_default();
        let mut err = re.join().unwrap_or_default();
        if status == 124 {
            err.extend_from_slice(b"\n(weir killed after the harness timeout)");
        }
        (status, out, err)
    }
}

/// A `btest-diff FILE` step: the file's content at that moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub file: String,
    pub content: Option<Vec<u8>>,
    /// `TEST_DIFF_CANONIFIER=...` given on the line (overrides the default canonifier).
    pub canonifier: Option<String>,
    /// Reasons why the file's content comes from a run weir cannot reproduce.
    pub unsupported: Vec<String>,
    /// `btest-diff-cut` arguments applied before the snapshot.
    pub cut: Option<CutSpec>,
}

/// What a replay produced.
#[derive(Debug, Default)]
pub struct Replay {
    pub snapshots: Vec<Snapshot>,
    /// Failed steps other than weir runs (`test ! -e weird.log`, a `cat` of a missing file...).
    pub check_failures: Vec<String>,
    /// weir runs that exited non-zero (other than "unknown setting").
    pub exit_failures: Vec<String>,
    /// Lines or commands the interpreter does not implement (skipped).
    pub skipped: Vec<String>,
    /// Every log weir wrote, per run (name, content): the source of our uid -> key map.
    pub run_logs: Vec<Vec<(String, Vec<u8>)>>,
    /// Reasons some zeek run was unsupported.
    pub unsupported_runs: Vec<String>,
    /// weir command lines, for the report.
    pub commands: Vec<String>,
}

pub struct Shell<'a> {
    pub dir: PathBuf,
    pub traces: String,
    pub test: &'a Test,
    pub engine: &'a mut dyn Engine,
    /// file name -> reasons (files derived from unsupported runs).
    taint: BTreeMap<String, BTreeSet<String>>,
    pub replay: Replay,
}

fn dir_state(dir: &Path) -> BTreeMap<String, (u64, Option<std::time::SystemTime>)> {
    let mut m = BTreeMap::new();
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            if let Ok(md) = e.metadata() {
                if md.is_file() {
                    m.insert(
                        e.file_name().to_string_lossy().to_string(),
                        (md.len(), md.modified().ok()),
                    );
                }
            }
        }
    }
    m
}

fn gunzip(data: &[u8]) -> Result<Vec<u8>, String> {
    let mut child = Command::new("gzip")
        .arg("-dc")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("gzip: {e}"))?;
    let mut sin = child.stdin.take().unwrap();
    let d = data.to_vec();
    let w = std::thread::spawn(move || {
        let _ = sin.write_all(&d);
    });
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let _ = w.join();
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err("gzip: not in gzip format".into())
    }
}

/// `zeek-cut` on a Zeek TSV log (separator tab).
pub fn zeek_cut(input: &[u8], spec: &CutSpec) -> Vec<u8> {
    let text = String::from_utf8_lossy(input);
    let mut out = String::new();
    let mut idx: Vec<Option<usize>> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let select = |fields: &[&str]| -> (Vec<Option<usize>>, Vec<String>) {
        if spec.cols.is_empty() && !spec.negate {
            return (
                (0..fields.len()).map(Some).collect(),
                fields.iter().map(|s| s.to_string()).collect(),
            );
        }
        if spec.negate {
            let keep: Vec<usize> = (0..fields.len())
                .filter(|i| !spec.cols.iter().any(|c| c == fields[*i]))
                .collect();
            return (
                keep.iter().map(|i| Some(*i)).collect(),
                keep.iter().map(|i| fields[*i].to_string()).collect(),
            );
        }
        // Like zeek-cut: a column the log lacks gives an empty name and empty values.
        let idx: Vec<Option<usize>> = spec.cols.iter().map(|c| fields.iter().position(|f| f == c)).collect();
        let names = spec
            .cols
            .iter()
            .zip(&idx)
            .map(|(c, i)| if i.is_some() { c.clone() } else { String::new() })
            .collect();
        (idx, names)
    };
    let pick = |vals: &[&str], idx: &[Option<usize>]| -> String {
        idx.iter()
            .map(|i| i.and_then(|i| vals.get(i).copied()).unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\t")
    };
    let mut types: Vec<String> = Vec::new();
    for line in text.lines() {
        if let Some(f) = line.strip_prefix("#fields\t") {
            let fields: Vec<&str> = f.split('\t').collect();
            let (i, n) = select(&fields);
            idx = i;
            names = n;
            if spec.full_header {
                out.push_str(&format!("#fields\t{}\n", names.join("\t")));
            } else if spec.m_header {
                out.push_str(&format!("{}\n", names.join("\t")));
            }
            continue;
        }
        if let Some(t) = line.strip_prefix("#types\t") {
            types = t.split('\t').map(String::from).collect();
            if spec.full_header {
                let tv: Vec<&str> = types.iter().map(|s| s.as_str()).collect();
                out.push_str(&format!("#types\t{}\n", pick(&tv, &idx)));
            }
            continue;
        }
        if line.starts_with('#') {
            if spec.full_header {
                out.push_str(line);
                out.push('\n');
            }
            continue;
        }
        if names.is_empty() && idx.is_empty() {
            continue;
        }
        let vals: Vec<&str> = line.split('\t').collect();
        out.push_str(&pick(&vals, &idx));
        out.push('\n');
    }
    let _ = types;
    out.into_bytes()
}

struct CmdOut {
    status: i32,
    stdout: Vec<u8>,
    /// Unsupported-run reasons carried by the output.
    taint: BTreeSet<String>,
}

fn ok(stdout: Vec<u8>) -> CmdOut {
    CmdOut {
        status: 0,
        stdout,
        taint: BTreeSet::new(),
    }
}
fn status(status: i32) -> CmdOut {
    CmdOut {
        status,
        stdout: Vec::new(),
        taint: BTreeSet::new(),
    }
}
fn fail() -> CmdOut {
    status(1)
}

impl<'a> Shell<'a> {
    pub fn new(dir: PathBuf, traces: String, test: &'a Test, engine: &'a mut dyn Engine) -> Self {
        Shell {
            dir,
            traces,
            test,
            engine,
            taint: BTreeMap::new(),
            replay: Replay::default(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn read(&self, name: &str) -> Option<Vec<u8>> {
        fs::read(self.path(name)).ok()
    }

    fn taint_of(&self, name: &str) -> BTreeSet<String> {
        self.taint.get(name).cloned().unwrap_or_default()
    }

    fn set_taint(&mut self, name: &str, t: BTreeSet<String>, append: bool) {
        if append {
            self.taint.entry(name.to_string()).or_default().extend(t);
        } else if t.is_empty() {
            self.taint.remove(name);
        } else {
            self.taint.insert(name.to_string(), t);
        }
    }

    /// Runs all exec lines of the test.
    pub fn run_all(&mut self) {
        let lines = self.test.exec_lines.clone();
        for line in &lines {
            self.run_line(line);
        }
    }

    pub fn run_line(&mut self, line: &str) {
        let toks = match lex(line, &self.traces) {
            Ok(t) => t,
            Err(e) => {
                self.replay.skipped.push(format!("{line}  ({e})"));
                return;
            }
        };
        let list = match parse(toks) {
            Ok(l) => l,
            Err(e) => {
                self.replay.skipped.push(format!("{line}  ({e})"));
                return;
            }
        };
        let mut status = 0;
        for (op, pl) in list {
            match op {
                Some(Tok::And) if status != 0 => continue,
                Some(Tok::Or) if status == 0 => continue,
                _ => {}
            }
            status = self.run_pipeline(&pl, line);
        }
        if status != 0 {
            if let Some(f) = self.missing_foreign_log(line) {
                self.replay.skipped.push(format!(
                    "{line}  (needs {f}, a log weir does not write; not counted as a failed check)"
                ));
            } else {
                self.replay.check_failures.push(format!("`{line}` exited {status}"));
            }
        }
    }

    /// A `NAME.log` the line refers to that does not exist and is not one of weir's logs
    /// (http.log, quic.log...): steps on it fail in a way that says nothing about weir.
    fn missing_foreign_log(&self, line: &str) -> Option<String> {
        for w in line.split(|c: char| c.is_whitespace() || c == '<' || c == '>') {
            // Only the first log named (the source of mv/cp/zeek-cut/test).
            if let Some(base) = w.strip_suffix(".log") {
                if !base.is_empty()
                    && base
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                    && !crate::zeek::WEIR_LOGS.contains(&base)
                    && !self.path(w).exists()
                {
                    return Some(w.to_string());
                }
                return None;
            }
        }
        None
    }

    fn run_pipeline(&mut self, pl: &Pipeline, line: &str) -> i32 {
        let mut input: Vec<u8> = Vec::new();
        let mut in_taint: BTreeSet<String> = BTreeSet::new();
        let mut status = 0;
        let n = pl.cmds.len();
        for (k, cmd) in pl.cmds.iter().enumerate() {
            let last = k + 1 == n;
            // Redirections, left to right.
            let mut out_target: Option<(String, bool)> = None;
            let mut to_stderr = false;
            let mut redirect_failed = false;
            let mut stdin = std::mem::take(&mut input);
            let mut stdin_taint = std::mem::take(&mut in_taint);
            for r in &cmd.redirs {
                match r {
                    Tok::In(f) => match self.read(f) {
                        Some(d) => {
                            stdin = d;
                            stdin_taint = self.taint_of(f);
                        }
                        None => {
                            redirect_failed = true;
                            break;
                        }
                    },
                    Tok::Out(1, append, f) => {
                        let p = self.path(f);
                        let res = if *append {
                            fs::OpenOptions::new().create(true).append(true).open(&p).map(|_| ())
                        } else {
                            fs::write(&p, b"")
                        };
                        if res.is_err() {
                            redirect_failed = true;
                            break;
                        }
                        if !*append {
                            self.taint.remove(f);
                        }
                        out_target = Some((f.clone(), *append));
                        to_stderr = false;
                    }
                    Tok::Out(_, _, _) => {} // stderr to a file: ignored
                    Tok::Dup(1, 2) => to_stderr = true,
                    _ => {}
                }
            }
            let res = if redirect_failed {
                fail()
            } else {
                self.run_cmd(cmd, &stdin, &stdin_taint, line)
            };
            status = res.status;
            let (out, otaint) = (res.stdout, res.taint);
            if let Some((f, _)) = &out_target {
                if let Ok(mut fh) = fs::OpenOptions::new().append(true).open(self.path(f)) {
                    let _ = fh.write_all(&out);
                }
                self.set_taint(f, otaint, true);
            } else if !last && !to_stderr {
                input = out;
                in_taint = otaint;
            }
        }
        if pl.negate {
            status = if status == 0 { 1 } else { 0 };
        }
        status
    }

    fn run_cmd(&mut self, cmd: &SimpleCmd, stdin: &[u8], stdin_taint: &BTreeSet<String>, line: &str) -> CmdOut {
        let argv = self.expand_globs(&cmd.argv);
        let name = argv[0].as_str();
        let args = &argv[1..];
        let env = |k: &str| cmd.env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        match name {
            "zeek" => self.run_zeek(args, stdin, line),
            "mv" | "cp" if args.len() >= 2 && self.path(args.last().unwrap()).is_dir() => {
                let dir = args.last().unwrap().clone();
                let mut st = 0;
                for a in &args[..args.len() - 1] {
                    let Some(d) = self.read(a) else {
                        st = 1;
                        continue;
                    };
                    let dest = format!("{dir}/{a}");
                    if fs::write(self.path(&dest), &d).is_err() {
                        st = 1;
                        continue;
                    }
                    let t = self.taint_of(a);
                    self.set_taint(&dest, t, false);
                    if name == "mv" {
                        let _ = fs::remove_file(self.path(a));
                        self.taint.remove(a.as_str());
                    }
                }
                status(st)
            }
            "mv" | "cp" => {
                if args.len() != 2 {
                    return self.skip(line, "mv/cp with other than two operands");
                }
                let (a, b) = (&args[0], &args[1]);
                let Some(d) = self.read(a) else { return fail() };
                if fs::write(self.path(b), &d).is_err() {
                    return fail();
                }
                let t = self.taint_of(a);
                self.set_taint(b, t, false);
                if name == "mv" {
                    let _ = fs::remove_file(self.path(a));
                    self.taint.remove(a.as_str());
                }
                ok(Vec::new())
            }
            "cat" => {
                if args.is_empty() {
                    let mut o = ok(stdin.to_vec());
                    o.taint = stdin_taint.clone();
                    return o;
                }
                let mut out = Vec::new();
                let mut taint = BTreeSet::new();
                let mut st = 0;
                for a in args {
                    // A missing file from an unsupported run still taints the output.
                    taint.extend(self.taint_of(a));
                    match self.read(a) {
                        Some(d) => out.extend(d),
                        None => st = 1,
                    }
                }
                CmdOut {
                    status: st,
                    stdout: out,
                    taint,
                }
            }
            "rm" => {
                let force = args.iter().any(|a| a.starts_with('-') && a.contains('f'));
                let mut st = 0;
                for a in args.iter().filter(|a| !a.starts_with('-')) {
                    if fs::remove_file(self.path(a)).is_err() && !force {
                        st = 1;
                    }
                    self.taint.remove(a.as_str());
                }
                status(st)
            }
            "touch" => {
                for a in args {
                    let _ = fs::OpenOptions::new().create(true).append(true).open(self.path(a));
                }
                ok(Vec::new())
            }
            "mkdir" => {
                for a in args.iter().filter(|a| !a.starts_with('-')) {
                    let _ = fs::create_dir_all(self.path(a));
                }
                ok(Vec::new())
            }
            "echo" => {
                let (nl, words) = match args.first().map(|s| s.as_str()) {
                    Some("-n") => (false, &args[1..]),
                    _ => (true, args),
                };
                let mut s = words.join(" ");
                if nl {
                    s.push('\n');
                }
                ok(s.into_bytes())
            }
            "test" | "[" => {
                let mut a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
                if name == "[" && a.last() == Some(&"]") {
                    a.pop();
                }
                let mut neg = false;
                if a.first() == Some(&"!") {
                    neg = true;
                    a.remove(0);
                }
                let r = match a.as_slice() {
                    ["-e", f] => self.path(f).exists(),
                    ["-f", f] => self.path(f).is_file(),
                    ["-s", f] => fs::metadata(self.path(f)).map(|m| m.len() > 0).unwrap_or(false),
                    [x, "=", y] => x == y,
                    [x, "!=", y] => x != y,
                    _ => return self.skip(line, "unsupported test expression"),
                };
                status(if r != neg { 0 } else { 1 })
            }
            "grep" => {
                let mut quiet = false;
                let mut count = false;
                let mut rest = Vec::new();
                for a in args {
                    match a.as_str() {
                        "-q" => quiet = true,
                        "-c" => count = true,
                        "-qc" | "-cq" => {
                            quiet = true;
                            count = true
                        }
                        _ => rest.push(a.clone()),
                    }
                }
                let Some(pat) = rest.first() else {
                    return self.skip(line, "grep without pattern");
                };
                let data = match rest.get(1) {
                    Some(f) => match self.read(f) {
                        Some(d) => d,
                        None => return status(2),
                    },
                    None => stdin.to_vec(),
                };
                if pat.chars().any(|c| "[]*+?()^$\\|{}".contains(c)) {
                    return self.skip(line, "grep with a regular expression");
                }
                let text = String::from_utf8_lossy(&data);
                let hits: Vec<&str> = text.lines().filter(|l| l.contains(pat.as_str())).collect();
                let mut o = if quiet {
                    ok(Vec::new())
                } else if count {
                    ok(format!("{}\n", hits.len()).into_bytes())
                } else {
                    ok(hits.iter().map(|l| format!("{l}\n")).collect::<String>().into_bytes())
                };
                o.status = if hits.is_empty() { 1 } else { 0 };
                o
            }
            "diff" => {
                let files: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
                if files.len() != 2 {
                    return self.skip(line, "diff with other than two files");
                }
                match (self.read(files[0]), self.read(files[1])) {
                    (Some(a), Some(b)) if a == b => ok(Vec::new()),
                    (Some(_), Some(_)) => status(1),
                    _ => status(2),
                }
            }
            "gunzip" | "zcat" | "gzip" => {
                let files: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
                let data = match files.first() {
                    Some(f) => match fs::read(f).or_else(|_| fs::read(self.path(f))) {
                        Ok(d) => d,
                        Err(_) => return fail(),
                    },
                    None => stdin.to_vec(),
                };
                match gunzip(&data) {
                    Ok(d) => ok(d),
                    Err(_) => fail(),
                }
            }
            "zeek-cut" => {
                let spec = CutSpec::parse_args(args);
                let mut o = ok(zeek_cut(stdin, &spec));
                o.taint = stdin_taint.clone();
                o
            }
            "btest-diff" => {
                let Some(f) = args.last() else {
                    return self.skip(line, "btest-diff without file");
                };
                self.snapshot(f, env("TEST_DIFF_CANONIFIER"), None);
                ok(Vec::new())
            }
            "btest-diff-cut" => {
                let Some(f) = args.last() else {
                    return self.skip(line, "btest-diff-cut without file");
                };
                let spec = CutSpec::parse_args(&args[..args.len() - 1]);
                if let Some(d) = self.read(f) {
                    let _ = fs::write(self.path(f), zeek_cut(&d, &spec));
                }
                self.snapshot(f, env("TEST_DIFF_CANONIFIER"), Some(spec));
                ok(Vec::new())
            }
            s if s.ends_with("/diff-remove-timestamps") || s.ends_with("/diff-remove-first-timestamp") => {
                let all = s.ends_with("/diff-remove-timestamps");
                let text = String::from_utf8_lossy(stdin);
                let mut out = String::new();
                for l in text.lines() {
                    out.push_str(&crate::canon::mask_timestamps(l, all));
                    out.push('\n');
                }
                let mut o = ok(out.into_bytes());
                o.taint = stdin_taint.clone();
                o
            }
            "true" | ":" => ok(Vec::new()),
            "false" => fail(),
            _ => self.skip(line, &format!("command `{name}` is not implemented")),
        }
    }

    fn skip(&mut self, line: &str, why: &str) -> CmdOut {
        self.replay.skipped.push(format!("{line}  ({why})"));
        // Not implemented: treated as success so that the rest of the line runs like in btest.
        ok(Vec::new())
    }

    fn expand_globs(&self, argv: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        for (i, a) in argv.iter().enumerate() {
            if i > 0 && a.contains('*') && !a.contains('/') {
                let (pre, post) = a.split_at(a.find('*').unwrap());
                let post = &post[1..];
                let mut m: Vec<String> = dir_state(&self.dir)
                    .into_keys()
                    .filter(|n| n.starts_with(pre) && n.ends_with(post) && n.len() >= pre.len() + post.len())
                    .collect();
                m.sort();
                if m.is_empty() {
                    out.push(a.clone());
                } else {
                    out.extend(m);
                }
            } else {
                out.push(a.clone());
            }
        }
        out
    }

    fn snapshot(&mut self, file: &str, canonifier: Option<String>, cut: Option<CutSpec>) {
        let content = self.read(file);
        let mut unsupported: Vec<String> = self.taint_of(file).into_iter().collect();
        if content.is_none() && unsupported.is_empty() {
            unsupported = self.replay.unsupported_runs.clone();
        }
        self.replay.snapshots.push(Snapshot {
            file: file.to_string(),
            content,
            canonifier,
            unsupported,
            cut,
        });
    }

    fn run_zeek(&mut self, args: &[String], stdin: &[u8], line: &str) -> CmdOut {
        let inv: Invocation = translate(args, self.test);
        self.replay.commands.push(format!("weir {}", inv.args.join(" ")));
        for (name, content) in &inv.files {
            if let Err(e) = std::fs::write(self.path(name), content) {
                self.replay
                    .exit_failures
                    .push(format!("`{line}`: cannot write {name}: {e}"));
            }
        }
        let before = dir_state(&self.dir);
        let (st, out, err) = self.engine.run(&inv, &self.dir, stdin);
        let after = dir_state(&self.dir);
        let changed: Vec<String> = after
            .iter()
            .filter(|(k, v)| before.get(*k) != Some(*v))
            .map(|(k, _)| k.clone())
            .collect();
        let mut reasons: BTreeSet<String> = inv.unsupported.iter().cloned().collect();
        let err_text = String::from_utf8_lossy(&err).to_string();
        if st == 2 {
            for s in &inv.settings {
                if err_text.contains(s.as_str()) {
                    reasons.insert(format!("weir lacks the setting `{s}`"));
                }
            }
        }
        if st != 0 && reasons.is_empty() {
            let first = err_text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            self.replay
                .exit_failures
                .push(format!("`{line}`: weir exited {st}: {first}"));
        }
        let mut logs = Vec::new();
        for f in &changed {
            if f.ends_with(".log") {
                if let Some(d) = self.read(f) {
                    logs.push((f.clone(), d));
                }
            }
        }
        self.replay.run_logs.push(logs);
        if reasons.is_empty() {
            for f in &changed {
                self.taint.remove(f.as_str());
            }
        } else {
            self.replay.unsupported_runs.extend(reasons.iter().cloned());
            let mut names: BTreeSet<String> = changed.into_iter().collect();
            for l in &inv.logs {
                names.insert(format!("{l}.log"));
            }
            for n in names {
                self.set_taint(&n, reasons.clone(), true);
            }
        }
        // weir's exit status is reported through exit_failures, not as a failed check.
        CmdOut {
            status: 0,
            stdout: out,
            taint: reasons,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::parse as parse_manifest;

    /// A stand-in for weir: each run writes the next prepared set of files.
    pub struct FakeEngine {
        pub outputs: Vec<(i32, Vec<(&'static str, String)>, &'static str)>,
        pub seen: Vec<(Invocation, usize)>,
    }

    impl Engine for FakeEngine {
        fn run(&mut self, inv: &Invocation, dir: &Path, stdin: &[u8]) -> (i32, Vec<u8>, Vec<u8>) {
            self.seen.push((inv.clone(), stdin.len()));
            if self.outputs.is_empty() {
                return (0, Vec::new(), Vec::new());
            }
            let (st, files, err) = self.outputs.remove(0);
            for (n, c) in files {
                fs::write(dir.join(n), c).unwrap();
            }
            (st, b"stdout of weir\n".to_vec(), err.as_bytes().to_vec())
        }
    }

    fn test_with(lines: &str, scripts: &str, notes: &str) -> Test {
        let text = format!(
            "tier\ttest\ttraces\tzeek_cmds\tscripts_loaded\texpected_files\tservices_in_baseline\tnotes\tbtest_exec_lines\ncore\tt.x\ta.pcap\t-\t{scripts}\t-\t-\t{notes}\t{lines}\n"
        );
        parse_manifest(&text).unwrap().remove(0)
    }

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("weir-golden-unit-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn run(test: &Test, eng: &mut FakeEngine, name: &str) -> (Replay, PathBuf) {
        let d = scratch(name);
        let mut sh = Shell::new(d.clone(), "/TR".into(), test, eng);
        sh.run_all();
        (sh.replay, d)
    }

    const W1: &str = "#fields\tts\tname\n#types\ttime\tstring\n1.0\tone\n";
    const W2: &str = "#fields\tts\tname\n#types\ttime\tstring\n2.0\ttwo\n";

    #[test]
    fn lexer_handles_quotes_redirections_and_vars() {
        let t = lex(
            r#"zeek -b -r ${TRACES}/a.pcap "x += {1.2.3.4/32}" %INPUT >out 2>&1 && cat a >> b | zeek-cut -m x <in >&2"#,
            "/T",
        )
        .unwrap();
        assert_eq!(t[3], Tok::Word("/T/a.pcap".into()));
        assert_eq!(t[4], Tok::Word("x += {1.2.3.4/32}".into()));
        assert_eq!(t[6], Tok::Out(1, false, "out".into()));
        assert_eq!(t[7], Tok::Dup(2, 1));
        assert_eq!(t[8], Tok::And);
        assert!(t.contains(&Tok::Out(1, true, "b".into())));
        assert!(t.contains(&Tok::In("in".into())));
        assert!(t.contains(&Tok::Dup(1, 2)));
        assert!(lex("test \"$(grep -c x f)\" = \"1\"", "/T").is_err());
        let p = parse(lex("! test -f x", "/T").unwrap()).unwrap();
        assert!(p[0].1.negate);
        let p = parse(lex("TEST_DIFF_CANONIFIER= btest-diff out", "/T").unwrap()).unwrap();
        assert_eq!(
            p[0].1.cmds[0].env,
            vec![("TEST_DIFF_CANONIFIER".to_string(), String::new())]
        );
    }

    #[test]
    fn old_weird_log_stays_when_a_run_writes_none() {
        // Zeek writes no weird.log for a run without weirds; the older one stays.
        let t = test_with(
            "zeek -b -r $TRACES/a.pcap %INPUT ;; mv weird.log out ;; zeek -b -r $TRACES/b.pcap %INPUT ;; cat weird.log >> out ;; zeek -b -r $TRACES/c.pcap %INPUT ;; test ! -e weird.log ;; cat weird.log >> out ;; btest-diff out",
            "base/frameworks/notice/weird",
            "bare(-b)",
        );
        let mut eng = FakeEngine {
            outputs: vec![
                (0, vec![("weird.log", W1.into())]),
                (0, vec![("weird.log", W2.into())]),
                (0, vec![]),
            ]
            .into_iter()
            .map(|(a, b)| (a, b, ""))
            .collect(),
            seen: vec![],
        };
        let (r, _) = run(&t, &mut eng, "weird");
        assert_eq!(r.snapshots.len(), 1);
        let out = String::from_utf8(r.snapshots[0].content.clone().unwrap()).unwrap();
        // W1, then W2, then W2 again (the leftover weird.log of run 2).
        assert_eq!(out, format!("{W1}{W2}{W2}"));
        // `test ! -e weird.log` failed: weird.log of run 2 is still there.
        assert_eq!(r.check_failures.len(), 1, "{:?}", r.check_failures);
        assert!(r.check_failures[0].contains("test ! -e weird.log"));
        assert_eq!(eng.seen.len(), 3);
        assert!(eng.seen[0].0.args.contains(&"/TR/a.pcap".to_string()));
    }

    #[test]
    fn zeek_cut_and_btest_diff_cut() {
        let log = "#separator \\x09\n#fields\tts\tuid\thistory\tservice\n#types\ttime\tstring\tstring\tstring\n1.5\tC1\tSh\t-\n";
        let t = test_with(
            "zeek -b -r $TRACES/a.pcap %INPUT ;; zeek-cut -m uid history < conn.log > conn.cut ;; cat conn.log | zeek-cut -Cn service > c2 && mv c2 conn2.log ;; zeek-cut uid < conn.log > bare.cut ;; btest-diff conn.cut ;; btest-diff conn2.log ;; btest-diff bare.cut ;; btest-diff-cut -m ts history conn.log",
            "base/protocols/conn",
            "bare(-b)",
        );
        let mut eng = FakeEngine {
            outputs: vec![(0, vec![("conn.log", log.into())], "")],
            seen: vec![],
        };
        let (r, d) = run(&t, &mut eng, "cut");
        let s = |i: usize| String::from_utf8(r.snapshots[i].content.clone().unwrap()).unwrap();
        assert_eq!(s(0), "uid\thistory\nC1\tSh\n");
        let spec = CutSpec::from_cmd("zeek-cut -m uid id.ctx.vlan history");
        assert_eq!(
            String::from_utf8(zeek_cut(log.as_bytes(), &spec)).unwrap(),
            "uid\t\thistory\nC1\t\tSh\n"
        );
        assert_eq!(
            s(1),
            "#separator \\x09\n#fields\tts\tuid\thistory\n#types\ttime\tstring\tstring\n1.5\tC1\tSh\n"
        );
        assert_eq!(s(2), "C1\n");
        assert_eq!(s(3), "ts\thistory\n1.5\tSh\n");
        assert!(r.snapshots[3].cut.as_ref().unwrap().m_header);
        assert!(!d.join("c2").exists());
        assert!(r.check_failures.is_empty(), "{:?}", r.check_failures);
    }

    #[test]
    fn gunzip_pipe_feeds_stdin_and_stdout_redirect() {
        let d = scratch("gz-src");
        let gz = d.join("t.pcap.gz");
        let st = Command::new("sh")
            .arg("-c")
            .arg(format!("printf 'hello trace' | gzip -c > {}", gz.display()))
            .status()
            .unwrap();
        assert!(st.success());
        let t = test_with(
            &format!(
                "gunzip -c {} | zeek -C -b -r - %INPUT > out ;; zcat < {} | zeek -b -r - %INPUT",
                gz.display(),
                gz.display()
            ),
            "base/protocols/conn",
            "bare(-b)",
        );
        let mut eng = FakeEngine {
            outputs: vec![],
            seen: vec![],
        };
        let (r, dir) = run(&t, &mut eng, "gz");
        assert_eq!(eng.seen.len(), 2);
        assert_eq!(eng.seen[0].1, "hello trace".len());
        assert!(eng.seen[0].0.stdin_trace);
        assert_eq!(eng.seen[1].1, "hello trace".len());
        assert_eq!(fs::read_to_string(dir.join("out")).unwrap(), "");
        assert!(r.check_failures.is_empty(), "{:?}", r.check_failures);
    }

    #[test]
    fn unsupported_runs_taint_their_files() {
        let t = test_with(
            "zeek -b -r $TRACES/a.pcap %INPUT ;; mv conn.log a.log ;; zeek -b -r $TRACES/b.pcap Foo::bar=3 && mv conn.log b.log ;; zeek -b -r $TRACES/c.pcap ;; mv conn.log c.log ;; btest-diff a.log ;; btest-diff b.log ;; btest-diff c.log",
            "base/protocols/conn protocols/conn/mac-logging",
            "bare(-b)",
        );
        let conn = "#fields\tuid\n#types\tstring\nC1\n";
        let mut eng = FakeEngine {
            outputs: vec![
                (0, vec![("conn.log", conn.into())], ""),
                (2, vec![], "error: unknown setting Foo::bar"),
                (0, vec![("conn.log", conn.into())], ""),
            ],
            seen: vec![],
        };
        let (r, _) = run(&t, &mut eng, "taint");
        let a = &r.snapshots[0];
        assert!(
            a.unsupported.iter().any(|u| u.contains("mac-logging")),
            "{:?}",
            a.unsupported
        );
        let b = &r.snapshots[1];
        assert!(b.content.is_none());
        assert!(
            b.unsupported.iter().any(|u| u.contains("Foo::bar")),
            "{:?}",
            b.unsupported
        );
        let c = &r.snapshots[2];
        assert!(c.unsupported.is_empty(), "{:?}", c.unsupported);
        assert!(r.exit_failures.is_empty());
    }

    #[test]
    fn weir_failure_is_reported_and_logs_kept() {
        let t = test_with(
            "zeek -b -r $TRACES/a.pcap %INPUT ;; btest-diff conn.log",
            "base/protocols/conn",
            "bare(-b)",
        );
        let mut eng = FakeEngine {
            outputs: vec![(1, vec![("conn.log", "x\n".into())], "damaged file")],
            seen: vec![],
        };
        let (r, _) = run(&t, &mut eng, "exit");
        assert_eq!(r.exit_failures.len(), 1);
        assert!(r.exit_failures[0].contains("damaged file"));
        assert!(r.snapshots[0].content.is_some());
        assert_eq!(r.run_logs[0].len(), 1);
    }

    #[test]
    fn misc_commands() {
        let t = test_with(
            "touch weird.log ;; test -f weird.log ;; test ! -s weird.log ;; rm -f weird.log nothere ;; ! test -f weird.log ;; echo \"#file a\" > x ;; echo b >> x ;; cp x y ;; diff -u x y ;; grep -q file x ;; rm weird.log ;; mkdir sub ;; touch a.log ;; mv *.log sub",
            "",
            "",
        );
        let mut eng = FakeEngine {
            outputs: vec![],
            seen: vec![],
        };
        let (r, d) = run(&t, &mut eng, "misc");
        assert_eq!(fs::read_to_string(d.join("y")).unwrap(), "#file a\nb\n");
        assert!(d.join("sub/a.log").exists() && !d.join("a.log").exists());
        // Only the final `rm weird.log` fails (already removed).
        assert_eq!(r.check_failures.len(), 1, "{:?}", r.check_failures);
        assert!(r.check_failures[0].contains("rm weird.log"));
    }
}
