//! The stack of open bodies that the Rust and TypeScript scanners cut into
//! members: the file's top level, and the blocks (and Rust function bodies)
//! inside it. A scanner follows its language's strings, comments and
//! brackets and tells the stack about each line start, bracket and member
//! end at the current body's depth; the stack decides where members start
//! (a line that lines up with the body's members, right after a member
//! ended) and whether a closed body is cut (its `}` starts its line, its
//! members lined up, it has some).

use super::{Item, Kind, Start};

/// Where a line's code starts, its first byte, and whether it is blank or
/// a comment line (`//`, `/*`), which never starts a member: the line of
/// `text` that starts at `at`.
pub(super) fn line_code(text: &[u8], at: usize) -> (usize, u8, bool) {
    let code = at
        + text[at..]
            .iter()
            .take_while(|&&b| matches!(b, b' ' | b'\t'))
            .count();
    let first = text.get(code).copied().unwrap_or(b'\n');
    let blank = matches!(first, b'\n' | b'\r')
        || text[code..].starts_with(b"//")
        || text[code..].starts_with(b"/*");
    (code, first, blank)
}

/// A body being cut into members. `K` is how the scanner tells bodies
/// apart (Rust: a block or a function body; TypeScript: whether a `,` ends
/// a member).
#[derive(Debug)]
pub(super) struct Frame<K> {
    /// Bracket depth of the code directly in the body.
    pub depth: u32,
    /// What kind of body this is (the top level's is the scanner's choice).
    pub kind: K,
    /// Leading whitespace of the members (a byte range), once seen; the
    /// top level's is empty (items start at column 0).
    indent: Option<(usize, usize)>,
    /// The last code at member level ended a member (or opened the body).
    pub boundary: bool,
    /// That end was a `}` (a `[` after it may index what it closed).
    pub brace_ended: bool,
    /// The members so far.
    pub members: Vec<Item>,
    /// The current member's first code line has been looked at.
    kind_known: bool,
    /// What body the current member opens, from that line.
    opens: Option<K>,
    /// The current member's body has been opened already.
    opened: bool,
    /// The layout was followed so far (members line up).
    followed: bool,
}

impl<K: Copy> Frame<K> {
    fn new(depth: u32, kind: K, indent: Option<(usize, usize)>) -> Frame<K> {
        Frame {
            depth,
            kind,
            indent,
            boundary: true,
            brace_ended: false,
            members: Vec::new(),
            kind_known: false,
            opens: None,
            opened: false,
            followed: true,
        }
    }

    fn push_member(&mut self, start: Start) {
        self.members.push(Item::leaf(start));
        self.kind_known = false;
        self.opens = None;
        self.opened = false;
    }

    /// Other code at `depth`: the member there goes on.
    pub fn settle(&mut self, depth: u32) {
        if depth == self.depth {
            self.boundary = false;
        }
    }

    /// A `;` (or `,`) at `depth`: with `ends`, the member there ended.
    pub fn separator(&mut self, depth: u32, ends: bool) {
        if depth == self.depth {
            self.boundary = ends;
            self.brace_ended = false;
        }
    }

    /// A line of `text` whose code lies directly in this body (it starts
    /// at `start`, its code at `code`): it starts a member when the last
    /// member ended, `may_start` says its first code can, and it lines up
    /// with the members; a line indented deeper goes on with the current
    /// member, and any other layout leaves the body uncut.
    pub fn line(&mut self, text: &[u8], start: Start, code: usize, may_start: bool) {
        let indent = &text[start.byte..code];
        let begins = match self.indent {
            None if self.boundary && may_start => {
                self.indent = Some((start.byte, code));
                true
            }
            None => false,
            Some((s, e)) if indent == &text[s..e] => self.boundary && may_start,
            Some((s, e)) if indent.len() > e - s && indent.starts_with(&text[s..e]) => false,
            Some(_) => {
                self.followed = false;
                false
            }
        };
        // The top level's first item starts at byte 0.
        if begins && !(self.depth == 0 && start.byte == 0) {
            self.push_member(start);
        }
    }

    /// Whether the current member's first code line is still to be looked
    /// at ([`Frame::learn`]).
    pub fn kind_unknown(&self) -> bool {
        !self.kind_known && !self.members.is_empty()
    }

    /// Records what body the current member opens (from its first code
    /// line).
    pub fn learn(&mut self, opens: Option<K>) {
        self.kind_known = true;
        self.opens = opens;
    }
}

/// The top level and the bodies open inside it, innermost last.
pub(super) struct Stack<K> {
    top: Frame<K>,
    inner: Vec<Frame<K>>,
}

impl<K: Copy> Stack<K> {
    /// A stack at the start of a file, whose top level is of kind `top`.
    pub fn new(top: K) -> Stack<K> {
        let mut frame = Frame::new(0, top, Some((0, 0)));
        frame.push_member(Start { byte: 0, row: 0 });
        Stack {
            top: frame,
            inner: Vec::new(),
        }
    }

    /// The innermost open body.
    pub fn current(&mut self) -> &mut Frame<K> {
        self.inner.last_mut().unwrap_or(&mut self.top)
    }

    /// Whether the innermost open body is the top level.
    pub fn at_top(&self) -> bool {
        self.inner.is_empty()
    }

    /// An opening bracket `b` at bracket depth `depth` (before it): the
    /// first `{` of a member that opens a body starts one; a second one
    /// means the first was something else (a brace in type parameters, a
    /// const generic argument), so the member is kept whole.
    pub fn open(&mut self, b: u8, depth: u32) {
        let frame = self.current();
        frame.settle(depth);
        let opens = (b == b'{' && depth == frame.depth)
            .then_some(frame.opens)
            .flatten();
        match opens {
            Some(kind) if !frame.opened => {
                frame.opened = true;
                self.inner.push(Frame::new(depth + 1, kind, None));
            }
            Some(_) => {
                frame.opens = None;
                if let Some(m) = frame.members.last_mut() {
                    m.members.clear();
                    m.tail = None;
                }
            }
            None => {}
        }
    }

    /// A closing bracket `b` that brings the depth to `depth`. When it
    /// closes a body, the member that owns it is cut into the body's
    /// members (as `item_kind` says) if `alone` (a `}` that starts its
    /// line, which starts at `tail`), the body's layout was followed and it
    /// has members.
    pub fn close(
        &mut self,
        b: u8,
        depth: u32,
        alone: bool,
        tail: Start,
        item_kind: impl Fn(K) -> Kind,
    ) {
        if self.inner.last().is_some_and(|f| f.depth > depth) {
            let closed = self.inner.pop().expect("a frame");
            let parent = self.current();
            let member = parent.members.last_mut().expect("a member");
            if alone && closed.followed && !closed.members.is_empty() {
                member.kind = item_kind(closed.kind);
                member.members = closed.members;
                member.tail = Some(tail);
            }
        }
        let frame = self.current();
        if depth == frame.depth {
            frame.boundary = b == b'}';
            frame.brace_ended = b == b'}';
        }
    }

    /// The top level's members, once the whole text was scanned with every
    /// bracket closed.
    pub fn finish(self) -> Vec<Item> {
        self.top.members
    }
}
