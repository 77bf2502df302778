//! A byte cursor over one line. Every stop the parsers make is at an ASCII byte, so slices
//! taken between stops are always on UTF-8 boundaries.

use super::ProtocolError;

/// What ends the last field of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A whole line: the end of input (or a line break) ends it.
    Line,
    /// Inside `[…]` in prose: an unbalanced `]` ends it too.
    Bracket,
}

/// Position in the input plus the window the parser may read.
pub(crate) struct Cursor<'a> {
    /// The whole input; positions index into it.
    pub s: &'a str,
    /// Current byte offset.
    pub pos: usize,
    /// One past the last byte the parser may read.
    pub end: usize,
    /// Offset reported as position 0 in errors (the start of the command in a reply).
    pub base: usize,
    /// How the last field ends.
    pub mode: Mode,
}

impl<'a> Cursor<'a> {
    /// A cursor over `s[pos..end]`.
    pub fn new(s: &'a str, pos: usize, end: usize, mode: Mode) -> Self {
        Cursor {
            s,
            pos,
            end: end.min(s.len()),
            base: pos,
            mode,
        }
    }

    /// The byte under the cursor, if any is left in the window.
    #[inline]
    pub fn peek(&self) -> Option<u8> {
        if self.pos < self.end {
            self.s.as_bytes().get(self.pos).copied()
        } else {
            None
        }
    }

    /// The byte `n` after the cursor, if inside the window.
    #[inline]
    pub fn peek_at(&self, n: usize) -> Option<u8> {
        let i = self.pos + n;
        if i < self.end {
            self.s.as_bytes().get(i).copied()
        } else {
            None
        }
    }

    /// Skips spaces and tabs (never line breaks: a command is one line).
    #[inline]
    pub fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// `s[a..b]`, or an internal error if that is not a valid slice (cannot happen when
    /// `a` and `b` come from ASCII stops, but the input is never trusted to be sure).
    pub fn slice(&self, a: usize, b: usize) -> Result<&'a str, ProtocolError> {
        self.s
            .get(a..b)
            .ok_or_else(|| self.err(a, "valid UTF-8", "internal: bad slice"))
    }

    /// An error at absolute offset `at`, reported relative to `base`.
    pub fn err(
        &self,
        at: usize,
        expected: impl Into<String>,
        message: impl Into<String>,
    ) -> ProtocolError {
        ProtocolError::new(at.saturating_sub(self.base), expected, message)
    }

    /// True when the cursor is at something that ends a field: `|`, a line break, the end of
    /// the window, or (in bracket mode) `]`.
    #[inline]
    pub fn at_field_end(&self) -> bool {
        match self.peek() {
            None | Some(b'|' | b'\n' | b'\r') => true,
            Some(b']') => self.mode == Mode::Bracket,
            _ => false,
        }
    }

    /// A short, printable description of what is under the cursor, for error messages.
    pub fn found(&self) -> String {
        match self
            .s
            .get(self.pos..self.end)
            .and_then(|r| r.chars().next())
        {
            None => "end of input".to_string(),
            Some('\n' | '\r') => "a line break".to_string(),
            Some(c) => format!("`{}`", c.escape_debug()),
        }
    }
}
