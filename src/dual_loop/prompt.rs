//! The frontend prompt within a token budget (the rules are in `zerolag.prompt`'s docs).
//!
//! Five sections, each capped at its share: the system prompt, the relevant memories (only
//! when the caller passes some), the recent commands, the backend status and the user
//! message; over the total, trimmed in that priority order (memories, commands, status,
//! user, system last). Lengths are in characters (Unicode scalar
//! values), as Python's `len` counts them, so a custom counter sees the same strings.

/// Marks the elided middle of a long user message.
pub const ELISION: &str = " […] ";

/// Token budget of the prompt and each section's share (negative values are refused by
/// the Python `Budget`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// The whole prompt.
    pub total: i64,
    /// The system prompt.
    pub system: i64,
    /// Recent commands.
    pub commands: i64,
    /// Backend status.
    pub status: i64,
    /// The user message.
    pub user: i64,
    /// Relevant memories (used only when some are given).
    pub memories: i64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            total: 2000,
            system: 200,
            commands: 500,
            status: 300,
            user: 1000,
            memories: 300,
        }
    }
}

/// A built prompt: the system message's content, the user message, the tokens of each
/// section (system, commands, status, user, memories) and which sections were trimmed (in
/// order).
#[derive(Clone, Debug, PartialEq)]
pub struct Prompt {
    /// System prompt, `# Relevant memories`, `# Recent commands` and `# Backend status`.
    pub system: String,
    /// The (possibly elided) user message.
    pub user: String,
    /// Tokens of system, commands, status, user, memories.
    pub tokens: [i64; 5],
    /// Trimmed sections, each once: `system`, `memories`, `commands`, `status`, `user`.
    pub trimmed: Vec<&'static str>,
}

/// About one token per four characters (what a byte-pair tokenizer gives on English).
pub fn estimate(text: &str) -> i64 {
    (text.chars().count() as i64 + 3) / 4
}

/// A caller's token counter, which may fail with `E`.
pub type CountFn<'a, E> = &'a mut dyn FnMut(&str) -> Result<i64, E>;

/// The token counter: the estimate, or a caller's function.
pub struct Counter<'a, E> {
    custom: Option<CountFn<'a, E>>,
}

impl<'a, E> Counter<'a, E> {
    /// The built-in estimate.
    pub fn estimate() -> Self {
        Counter { custom: None }
    }

    /// A caller's counter.
    pub fn custom(f: CountFn<'a, E>) -> Self {
        Counter { custom: Some(f) }
    }

    fn of(&mut self, text: &str) -> Result<i64, E> {
        match &mut self.custom {
            None => Ok(estimate(text)),
            Some(f) => f(text),
        }
    }

    /// Tokens of the concatenation of `parts`, whose length is `chars` characters (the
    /// estimate needs only that, so it builds no string).
    fn of_parts(&mut self, parts: &[&str], chars: usize) -> Result<i64, E> {
        match &mut self.custom {
            None => Ok((chars as i64 + 3) / 4),
            Some(f) => f(&parts.concat()),
        }
    }

    /// Tokens of one line plus its newline.
    fn line(&mut self, line: &str) -> Result<i64, E> {
        Ok(self.of(line)? + 1)
    }

    /// Tokens of `lines`, one per line, a newline counted as a token.
    fn lines<'s>(&mut self, lines: impl IntoIterator<Item = &'s str>) -> Result<i64, E> {
        let mut n = 0;
        for l in lines {
            n += self.line(l)?;
        }
        Ok(n)
    }
}

/// Byte offsets of every character boundary of `s` (`len + 1` entries).
fn bounds(s: &str) -> Vec<usize> {
    let mut b: Vec<usize> = s.char_indices().map(|(i, _)| i).collect();
    b.push(s.len());
    b
}

/// `text` cut at the end (with `…`) to `tokens`.
fn cut_end<E>(text: &str, tokens: i64, c: &mut Counter<'_, E>) -> Result<String, E> {
    if c.of(text)? <= tokens {
        return Ok(text.to_string());
    }
    if tokens <= 0 {
        return Ok(String::new());
    }
    let b = bounds(text);
    let (mut lo, mut hi) = (0usize, b.len() - 1);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if c.of_parts(&[&text[..b[mid]], "…"], mid + 1)? <= tokens {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Ok(if lo > 0 {
        format!("{}…", &text[..b[lo]])
    } else {
        String::new()
    })
}

/// `text` with its middle elided to fit `tokens` (head and tail kept).
fn cut_middle<E>(text: &str, tokens: i64, c: &mut Counter<'_, E>) -> Result<String, E> {
    if c.of(text)? <= tokens {
        return Ok(text.to_string());
    }
    if tokens <= c.of(ELISION)? {
        return cut_end(text, tokens, c);
    }
    let b = bounds(text);
    let n = b.len() - 1;
    let el = ELISION.chars().count();
    let (mut lo, mut hi) = (0usize, n / 2);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let parts = [&text[..b[mid]], ELISION, &text[b[n - mid]..]];
        if c.of_parts(&parts, 2 * mid + el)? <= tokens {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Ok(format!("{}{ELISION}{}", &text[..b[lo]], &text[b[n - lo]..]))
}

/// The first lines (the best ranked) that fit in `tokens`, in order.
fn keep_first<'s, E>(
    lines: &[&'s str],
    tokens: i64,
    c: &mut Counter<'_, E>,
) -> Result<Vec<&'s str>, E> {
    let mut used = 0;
    let mut end = 0;
    for l in lines {
        let n = c.line(l)?;
        if used + n > tokens {
            break;
        }
        used += n;
        end += 1;
    }
    Ok(lines[..end].to_vec())
}

/// The newest lines (the end of `lines`) that fit in `tokens`, in order.
fn keep_last<'s, E>(
    lines: &[&'s str],
    tokens: i64,
    c: &mut Counter<'_, E>,
) -> Result<Vec<&'s str>, E> {
    let mut used = 0;
    let mut start = lines.len();
    for (i, l) in lines.iter().enumerate().rev() {
        let n = c.line(l)?;
        if used + n > tokens {
            break;
        }
        used += n;
        start = i;
    }
    Ok(lines[start..].to_vec())
}

/// Drops finished items first (oldest first), then cuts from the end; order kept.
fn fit_status<'s, E>(
    items: &[(bool, &'s str)],
    tokens: i64,
    c: &mut Counter<'_, E>,
) -> Result<Vec<(bool, &'s str)>, E> {
    let mut costs = Vec::with_capacity(items.len());
    for (_, l) in items {
        costs.push(c.line(l)?);
    }
    let mut used: i64 = costs.iter().sum();
    let mut keep = vec![true; items.len()];
    for (i, (finished, _)) in items.iter().enumerate() {
        if used <= tokens {
            break;
        }
        if *finished {
            keep[i] = false;
            used -= costs[i];
        }
    }
    for i in (0..items.len()).rev() {
        if used <= tokens {
            break;
        }
        if keep[i] {
            keep[i] = false;
            used -= costs[i];
        }
    }
    Ok(items
        .iter()
        .zip(keep)
        .filter_map(|(it, k)| k.then_some(*it))
        .collect())
}

fn mark(trimmed: &mut Vec<&'static str>, section: &'static str) {
    if !trimmed.contains(&section) {
        trimmed.push(section);
    }
}

/// Builds the prompt without memories (see [`build_with_memories`]).
pub fn build<E>(
    system: &str,
    commands: &[&str],
    status: &[(bool, &str)],
    user: &str,
    b: &Budget,
    c: &mut Counter<'_, E>,
) -> Result<Prompt, E> {
    build_with_memories(system, &[], commands, status, user, b, c)
}

/// Builds the prompt. `memories`: lines, best first (the worst are dropped first);
/// `commands`: lines, oldest first; `status`: `(finished, line)` in display order. Each
/// section's tokens are counted once, and again only after a trim.
pub fn build_with_memories<E>(
    system: &str,
    memories: &[&str],
    commands: &[&str],
    status: &[(bool, &str)],
    user: &str,
    b: &Budget,
    c: &mut Counter<'_, E>,
) -> Result<Prompt, E> {
    let mut trimmed = Vec::new();
    let mut sys_text = system.to_string();
    let mut n_sys = c.of(&sys_text)?;
    if n_sys > b.system {
        sys_text = cut_end(&sys_text, b.system, c)?;
        n_sys = c.of(&sys_text)?;
        mark(&mut trimmed, "system");
    }
    let mut mem_lines: Vec<&str> = memories.to_vec();
    let mut n_mem = c.lines(mem_lines.iter().copied())?;
    if n_mem > b.memories {
        mem_lines = keep_first(&mem_lines, b.memories, c)?;
        n_mem = c.lines(mem_lines.iter().copied())?;
        mark(&mut trimmed, "memories");
    }
    let mut cmd_lines: Vec<&str> = commands.to_vec();
    let mut n_cmd = c.lines(cmd_lines.iter().copied())?;
    if n_cmd > b.commands {
        cmd_lines = keep_last(&cmd_lines, b.commands, c)?;
        n_cmd = c.lines(cmd_lines.iter().copied())?;
        mark(&mut trimmed, "commands");
    }
    let mut st: Vec<(bool, &str)> = status.to_vec();
    let mut n_st = c.lines(st.iter().map(|x| x.1))?;
    if n_st > b.status {
        st = fit_status(&st, b.status, c)?;
        n_st = c.lines(st.iter().map(|x| x.1))?;
        mark(&mut trimmed, "status");
    }
    let mut user_text = user.to_string();
    let mut n_user = c.of(&user_text)?;
    if n_user > b.user {
        user_text = cut_middle(&user_text, b.user, c)?;
        n_user = c.of(&user_text)?;
        mark(&mut trimmed, "user");
    }

    // Over the total (a total below the sum of the shares): trim in priority order.
    let mut over = n_sys + n_mem + n_cmd + n_st + n_user - b.total;
    if over > 0 && !mem_lines.is_empty() {
        mem_lines = keep_first(&mem_lines, (n_mem - over).max(0), c)?;
        n_mem = c.lines(mem_lines.iter().copied())?;
        mark(&mut trimmed, "memories");
        over = n_sys + n_mem + n_cmd + n_st + n_user - b.total;
    }
    if over > 0 && !cmd_lines.is_empty() {
        cmd_lines = keep_last(&cmd_lines, (n_cmd - over).max(0), c)?;
        n_cmd = c.lines(cmd_lines.iter().copied())?;
        mark(&mut trimmed, "commands");
        over = n_sys + n_mem + n_cmd + n_st + n_user - b.total;
    }
    if over > 0 && !st.is_empty() {
        st = fit_status(&st, (n_st - over).max(0), c)?;
        n_st = c.lines(st.iter().map(|x| x.1))?;
        mark(&mut trimmed, "status");
        over = n_sys + n_mem + n_cmd + n_st + n_user - b.total;
    }
    if over > 0 && !user_text.is_empty() {
        user_text = cut_middle(&user_text, (n_user - over).max(0), c)?;
        n_user = c.of(&user_text)?;
        mark(&mut trimmed, "user");
        over = n_sys + n_mem + n_cmd + n_st + n_user - b.total;
    }
    if over > 0 && !sys_text.is_empty() {
        sys_text = cut_end(&sys_text, (n_sys - over).max(0), c)?;
        n_sys = c.of(&sys_text)?;
        mark(&mut trimmed, "system");
    }

    let mut content = sys_text;
    let mut section = |head: &str, body: &mut dyn Iterator<Item = &str>, empty: Option<&str>| {
        let mut first = true;
        for line in body {
            if first {
                if !content.is_empty() {
                    content.push_str("\n\n");
                }
                content.push_str(head);
                first = false;
            }
            content.push('\n');
            content.push_str(line);
        }
        if first {
            if let Some(e) = empty {
                if !content.is_empty() {
                    content.push_str("\n\n");
                }
                content.push_str(head);
                content.push('\n');
                content.push_str(e);
            }
        }
    };
    section("# Relevant memories", &mut mem_lines.iter().copied(), None);
    section("# Recent commands", &mut cmd_lines.iter().copied(), None);
    section(
        "# Backend status",
        &mut st.iter().map(|x| x.1),
        Some("idle"),
    );
    Ok(Prompt {
        system: content,
        user: user_text,
        tokens: [n_sys, n_cmd, n_st, n_user, n_mem],
        trimmed,
    })
}
