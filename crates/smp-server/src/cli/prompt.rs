//! Console prompts (`CLI.withPrompt`, `onOffPrompt`, `confirmOrExit`): the prompt is printed
//! without a newline, the answer is one line of input. End of input counts as an empty answer
//! (the default), so scripted input never hangs.

use std::io::{self, BufRead, Write};

/// Reads answers line by line from any buffered input (stdin in the binary).
pub struct Prompter<R> {
    input: R,
}

impl<R: BufRead> Prompter<R> {
    pub fn new(input: R) -> Prompter<R> {
        Prompter { input }
    }

    /// Prints `prompt` (no newline), flushes, and reads one line without its line ending.
    pub fn ask(&mut self, prompt: &str) -> io::Result<String> {
        let mut stdout = io::stdout().lock();
        stdout.write_all(prompt.as_bytes())?;
        stdout.flush()?;
        drop(stdout);
        self.line()
    }

    /// Reads one line without printing anything.
    pub fn line(&mut self) -> io::Result<String> {
        let mut line = String::new();
        self.input.read_line(&mut line)?;
        if line.ends_with('\n') {
            line.pop();
            if line.ends_with('\r') {
                line.pop();
            }
        }
        Ok(line)
    }

    /// `⟨prompt⟩ (Yn): ` or `(yN): `; empty takes the default, `y`/`Y`/`n`/`N` decide, anything
    /// else is asked again (`CLI.onOffPrompt`).
    pub fn on_off(&mut self, prompt: &str, default: bool) -> io::Result<bool> {
        let suffix = if default { " (Yn): " } else { " (yN): " };
        loop {
            match self.ask(&format!("{prompt}{suffix}"))?.as_str() {
                "" => return Ok(default),
                "y" | "Y" => return Ok(true),
                "n" | "N" => return Ok(false),
                _ => println!("Invalid input, please enter 'y' or 'n'"),
            }
        }
    }

    /// `⟨warning⟩\nContinue (Y/n): `; only the exact answer `Y` confirms (`CLI.confirmOrExit`).
    pub fn confirm(&mut self, warning: &str) -> io::Result<bool> {
        Ok(self.ask(&format!("{warning}\nContinue (Y/n): "))? == "Y")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_end_of_input() {
        let mut prompter = Prompter::new(&b"first\r\nsecond\nlast"[..]);
        assert_eq!(prompter.line().unwrap(), "first");
        assert_eq!(prompter.line().unwrap(), "second");
        assert_eq!(prompter.line().unwrap(), "last");
        assert_eq!(prompter.line().unwrap(), "");
    }

    #[test]
    fn on_off_answers() {
        let mut prompter = Prompter::new(&b"\nmaybe\nN\ny\n"[..]);
        assert!(prompter.on_off("Q", true).unwrap());
        assert!(!prompter.on_off("Q", true).unwrap());
        assert!(prompter.on_off("Q", false).unwrap());
        assert!(!prompter.on_off("Q", false).unwrap());
    }

    #[test]
    fn only_capital_y_confirms() {
        let mut prompter = Prompter::new(&b"y\nyes\nY\n"[..]);
        assert!(!prompter.confirm("W").unwrap());
        assert!(!prompter.confirm("W").unwrap());
        assert!(prompter.confirm("W").unwrap());
        assert!(!prompter.confirm("W").unwrap());
    }
}
