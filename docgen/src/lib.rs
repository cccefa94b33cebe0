//! Man pages and shell completions made from clap definitions, for the
//! `--generate-docs DIR` of fuse4fs and fuse4fs-fsck: a page's title,
//! NAME, SYNOPSIS and OPTIONS come from the `clap::Command`, the sections
//! written by hand are built with [`Page`]'s helpers, so that the pages
//! follow the options as they change.

use std::io;
use std::path::Path;

use clap::{Arg, Command};
use clap_complete::Shell;
use clap_mangen::Man;

pub use roff::{Inline, bold, italic, roman};

/// A man page being written: clap's sections and hand-written ones, in
/// the order they are added.
pub struct Page {
    cmd: Command,
    man: Man,
    out: Vec<u8>,
    /// Hand-written text not yet appended to `out`.
    roff: roff::Roff,
}

impl Page {
    /// A page for `cmd` in manual `section` ("1", "8"), titled `manual`
    /// ("User Commands"); `source` is the package and version. Starts with
    /// the title, NAME (clap's about) and a SYNOPSIS of every shown option.
    pub fn new(cmd: Command, section: &str, manual: &str, source: &str) -> io::Result<Self> {
        let man = Man::new(cmd.clone())
            .section(section)
            .manual(manual)
            .source(source);
        let mut page = Page {
            cmd,
            man,
            out: Vec::new(),
            roff: roff::Roff::new(),
        };
        page.man.render_title(&mut page.out)?;
        page.man.render_name_section(&mut page.out)?;
        // Option names are words to type: not hyphenated, not stretched.
        page.roff.control("nh", []).control("ad", ["l"]);
        page.synopsis();
        Ok(page)
    }

    /// SYNOPSIS: every option clap shows, with its value name (clap_mangen's
    /// own synopsis leaves the values out).
    fn synopsis(&mut self) {
        let mut line = vec![bold(self.cmd.get_name())];
        let shown: Vec<&Arg> = self
            .cmd
            .get_arguments()
            .filter(|a| !a.is_hide_set())
            .collect();
        for arg in shown.iter().filter(|a| !a.is_positional()) {
            let flag = match (arg.get_short(), arg.get_long()) {
                (Some(s), _) => format!("-{s}"),
                (None, Some(l)) => format!("--{l}"),
                (None, None) => continue,
            };
            line.push(roman(" ["));
            line.push(bold(flag));
            let values = arg
                .get_value_names()
                .filter(|_| arg.get_action().takes_values());
            if let Some(names) = values {
                line.push(roman(" "));
                line.push(italic(names.join(" ")));
            }
            line.push(roman("]"));
        }
        for arg in shown.iter().filter(|a| a.is_positional()) {
            let name = arg
                .get_value_names()
                .map_or_else(|| arg.get_id().to_string(), |n| n.join(" "));
            let (open, close) = if arg.is_required_set() {
                ("", "")
            } else {
                ("[", "]")
            };
            line.push(roman(format!(" {open}")));
            line.push(italic(name));
            line.push(roman(close));
        }
        self.section("SYNOPSIS");
        self.roff.text(line);
    }

    /// Appends what was written by hand so far.
    fn flush(&mut self) {
        self.out.extend(self.roff.to_roff().into_bytes());
        self.roff = roff::Roff::new();
    }

    /// clap's OPTIONS section: every shown option with its long help.
    pub fn options(&mut self) -> io::Result<()> {
        self.flush();
        self.man.render_options_section(&mut self.out)
    }

    /// A section heading.
    pub fn section(&mut self, name: &str) {
        self.roff.control("SH", [name]);
    }

    /// A paragraph of plain text.
    pub fn para(&mut self, text: &str) {
        self.roff.control("PP", []).text([roman(text)]);
    }

    /// A tagged paragraph: `tag` on its own line, `text` indented below.
    pub fn tagged(&mut self, tag: impl Into<Vec<Inline>>, text: &str) {
        self.roff.control("TP", []).text(tag).text([roman(text)]);
    }

    /// An example: what it does, then the command lines as typed.
    pub fn example(&mut self, what: &str, lines: &[&str]) {
        self.para(what);
        self.roff.control("RS", ["4"]).control("EX", []);
        for line in lines {
            self.roff.text([roman(*line)]);
        }
        self.roff.control("EE", []).control("RE", []);
    }

    /// SEE ALSO: `name(section)` each.
    pub fn see_also(&mut self, pages: &[(&str, &str)]) {
        self.section("SEE ALSO");
        let mut line = Vec::new();
        for (i, (name, sect)) in pages.iter().enumerate() {
            line.push(bold(*name));
            let sep = if i + 1 < pages.len() { "), " } else { ")" };
            line.push(roman(format!("({sect}{sep}")));
        }
        self.roff.text(line);
    }

    /// The finished page.
    pub fn finish(mut self) -> Vec<u8> {
        self.flush();
        self.out
    }

    /// Writes the finished page as `dir/NAME.SECTION`.
    pub fn write_to(self, dir: &Path) -> io::Result<()> {
        let file = dir.join(self.man.get_filename());
        std::fs::write(file, self.finish())
    }
}

/// Writes bash (`NAME.bash`) and zsh (`_NAME`) completions for `cmd` into
/// `dir`.
pub fn write_completions(mut cmd: Command, dir: &Path) -> io::Result<()> {
    let name = cmd.get_name().to_string();
    for (shell, file) in [
        (Shell::Bash, format!("{name}.bash")),
        (Shell::Zsh, format!("_{name}")),
    ] {
        let mut out = Vec::new();
        clap_complete::generate(shell, &mut cmd, &name, &mut out);
        std::fs::write(dir.join(file), out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ArgAction;

    fn cmd() -> Command {
        Command::new("demo")
            .about("a demo")
            .arg(Arg::new("opts").short('o').value_name("OPTS"))
            .arg(Arg::new("all").long("all").action(ArgAction::SetTrue))
            .arg(Arg::new("secret").long("secret").hide(true))
            .arg(Arg::new("file").value_name("FILE").required(true))
    }

    #[test]
    fn synopsis_has_values_and_no_hidden_option() {
        let page = String::from_utf8(
            Page::new(cmd(), "1", "User Commands", "demo 1")
                .unwrap()
                .finish(),
        )
        .unwrap();
        let synopsis = page
            .lines()
            .skip_while(|l| *l != ".SH SYNOPSIS")
            .nth(1)
            .unwrap();
        assert_eq!(
            synopsis,
            r"\fBdemo\fR [\fB\-o\fR \fIOPTS\fR] [\fB\-\-all\fR] \fIFILE\fR"
        );
        assert!(!page.contains("secret"), "{page}");
    }

    #[test]
    fn sections_keep_their_order() {
        let mut page = Page::new(cmd(), "8", "System Administration", "demo 1").unwrap();
        page.section("DESCRIPTION");
        page.para("first");
        page.options().unwrap();
        page.section("EXAMPLES");
        page.example("run it:", &["demo -o x f"]);
        page.see_also(&[("a", "1"), ("b", "5")]);
        let text = String::from_utf8(page.finish()).unwrap();
        let at = |s: &str| text.find(s).unwrap_or_else(|| panic!("{s} in {text}"));
        assert!(at(".TH demo 8") < at(".SH SYNOPSIS"));
        assert!(at(".SH SYNOPSIS") < at(".SH DESCRIPTION"));
        assert!(at(".SH DESCRIPTION") < at(".SH OPTIONS"));
        assert!(at(".SH OPTIONS") < at(".SH EXAMPLES"));
        assert!(text.contains(r"\fBa\fR(1), \fBb\fR(5)"), "{text}");
    }
}
