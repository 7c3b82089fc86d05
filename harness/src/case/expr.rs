//! Value expressions of case files: `PAGE`, `3*PAGE`, `PAGE-1`, `$m+PAGE`, `MAP_PRIVATE|MAP_ANONYMOUS`.
//! Parsed once at load time (names checked, with suggestions), evaluated in the child and the parent.

use crate::names::{self, Family};

/// `HPAGE_2M`: 2 MiB, the size of a PMD-level huge page with 4 KiB base pages (x86_64's
/// transparent and default hugetlb pages). Unlike `PAGE` and `HPAGE` it does not follow the
/// machine: a case about 2 MiB huge pages as such (MAP_HUGE_2MB) says so by using it.
pub const HPAGE_2M: u64 = 2 << 20;

/// A parsed expression. Arithmetic wraps on u64, so `-1` is all ones, as a C caller would pass it.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Num(u64),
    /// The page size of the running system.
    Page,
    /// `HPAGE`: the default huge page size of the running system (2 MiB on x86_64).
    HugePage,
    /// A named constant, kept by name for messages.
    Sym(&'static str, u64),
    /// `$name`: the value a previous step produced (a mapping's address, a descriptor, a pid).
    Ref(String, usize),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    /// `!x`: 1 when x is 0, else 0.
    LogicNot(Box<Expr>),
    Bin(Op, Box<Expr>, Box<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    Or,
    And,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Shl,
    /// Comparisons and logic give 1 or 0; used by explain's conditions on a call's arguments.
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    LogicAnd,
    LogicOr,
}

impl Op {
    /// The operator applied to two values; comparisons and logic give 1 or 0.
    pub fn apply(self, a: u64, b: u64) -> Result<u64, EvalError> {
        Ok(match self {
            Op::Or => a | b,
            Op::And => a & b,
            Op::Add => a.wrapping_add(b),
            Op::Sub => a.wrapping_sub(b),
            Op::Mul => a.wrapping_mul(b),
            Op::Div => a.checked_div(b).ok_or(EvalError::DivideByZero)?,
            Op::Rem => a.checked_rem(b).ok_or(EvalError::DivideByZero)?,
            Op::Shl => a.wrapping_shl(b as u32),
            Op::Eq => u64::from(a == b),
            Op::Ne => u64::from(a != b),
            Op::Lt => u64::from(a < b),
            Op::Le => u64::from(a <= b),
            Op::Gt => u64::from(a > b),
            Op::Ge => u64::from(a >= b),
            Op::LogicAnd => u64::from(a != 0 && b != 0),
            Op::LogicOr => u64::from(a != 0 || b != 0),
        })
    }
}

/// A parse error: `at` is a byte offset into the expression text.
#[derive(Debug, PartialEq)]
pub struct ParseError {
    pub at: usize,
    pub message: String,
}

/// Why an expression could not be evaluated at run time.
#[derive(Debug, PartialEq)]
pub enum EvalError {
    /// `$name` names a step that failed or did not run.
    Unavailable(String),
    DivideByZero,
}

impl std::fmt::Display for EvalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EvalError::Unavailable(name) => {
                write!(f, "${name} is unavailable (its step failed or did not run)")
            }
            EvalError::DivideByZero => write!(f, "division by zero"),
        }
    }
}

/// What evaluation needs from its surroundings.
pub trait Scope {
    fn page(&self) -> u64;
    /// The default huge page size: this machine's, unless a scope knows better.
    fn huge_page(&self) -> u64 {
        crate::sys::huge_page_size()
    }
    fn slot(&self, index: usize) -> Option<u64>;
}

/// What parsing needs: which constant families are allowed here, and how `$name` resolves.
pub struct Context<'a> {
    pub families: &'a [Family],
    pub resolve: &'a dyn Fn(&str) -> Result<usize, String>,
}

impl Expr {
    pub fn eval(&self, scope: &dyn Scope) -> Result<u64, EvalError> {
        Ok(match self {
            Expr::Num(v) | Expr::Sym(_, v) => *v,
            Expr::Page => scope.page(),
            Expr::HugePage => scope.huge_page(),
            Expr::Ref(name, slot) => scope
                .slot(*slot)
                .ok_or_else(|| EvalError::Unavailable(name.clone()))?,
            Expr::Neg(e) => e.eval(scope)?.wrapping_neg(),
            Expr::Not(e) => !e.eval(scope)?,
            Expr::LogicNot(e) => u64::from(e.eval(scope)? == 0),
            Expr::Bin(op, a, b) => op.apply(a.eval(scope)?, b.eval(scope)?)?,
        })
    }

    /// The `$names` this expression reads.
    pub fn refs(&self, out: &mut Vec<usize>) {
        match self {
            Expr::Ref(_, slot) => out.push(*slot),
            Expr::Neg(e) | Expr::Not(e) | Expr::LogicNot(e) => e.refs(out),
            Expr::Bin(_, a, b) => {
                a.refs(out);
                b.refs(out);
            }
            Expr::Num(_) | Expr::Page | Expr::HugePage | Expr::Sym(..) => {}
        }
    }
}

/// Parses `text`. Grammar, loosest first: `||`, `&&`, comparisons (`== != < <= > >=`), `|`,
/// `&`, `<<`, `+ -`, `* / %`, unary `- ~ !`, atoms (numbers in decimal, 0x hex, 0o octal; `PAGE`;
/// constants; `$name`; parentheses). Unlike C, `|` binds tighter than `==`, so
/// `$flags & MAP_SHARED == 0` would still be wrong: write `($flags & MAP_SHARED) == 0`.
pub fn parse(text: &str, cx: &Context) -> Result<Expr, ParseError> {
    let mut p = Parser {
        text,
        pos: 0,
        cx,
        depth: 0,
        operators: 0,
    };
    let e = p.logic_or()?;
    p.skip_ws();
    if p.pos < text.len() {
        return Err(p.error(format!("unexpected `{}`", &text[p.pos..])));
    }
    Ok(e)
}

/// How deep parentheses and unary operators may nest in one expression, and how many operators
/// it may have: far more than any case needs, and little enough that parsing and evaluating,
/// both recursive, stay far from the end of a thread's stack (a stack overflow is no error
/// message: it kills the process).
pub const MAX_NESTING: usize = 64;
pub const MAX_OPERATORS: usize = 256;

struct Parser<'a> {
    text: &'a str,
    pos: usize,
    cx: &'a Context<'a>,
    /// Parentheses and unary operators open at `pos`.
    depth: usize,
    /// Operators so far.
    operators: usize,
}

impl Parser<'_> {
    fn error(&self, message: String) -> ParseError {
        ParseError {
            at: self.pos,
            message,
        }
    }

    /// Enters a parenthesis or a unary operator written at `at`.
    fn nest(&mut self, at: usize) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(ParseError {
                at,
                message: format!(
                    "the expression nests more than {MAX_NESTING} parentheses and unary operators deep"
                ),
            });
        }
        Ok(())
    }

    /// Counts an operator written at `at`.
    fn operator(&mut self, at: usize) -> Result<(), ParseError> {
        self.operators += 1;
        if self.operators > MAX_OPERATORS {
            return Err(ParseError {
                at,
                message: format!("the expression has more than {MAX_OPERATORS} operators"),
            });
        }
        Ok(())
    }

    fn skip_ws(&mut self) {
        while self.text[self.pos..].starts_with(|c: char| c.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    /// Eats an operator, but not the first character of a longer one (`&` of `&&`, `<` of `<=`).
    fn eat_op(&mut self, token: &str) -> bool {
        self.skip_ws();
        let rest = &self.text[self.pos..];
        let longer = match token {
            "&" => &["&"][..],
            "|" => &["|"][..],
            "<" => &["<", "="][..],
            ">" => &["="][..],
            _ => &[][..],
        };
        if rest.starts_with(token) && !longer.iter().any(|l| rest[token.len()..].starts_with(l)) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn peek_is(&mut self, token: &str) -> bool {
        self.skip_ws();
        self.text[self.pos..].starts_with(token)
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_ws();
        if self.text[self.pos..].starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn binary(
        &mut self,
        ops: &[(&str, Op)],
        next: fn(&mut Self) -> Result<Expr, ParseError>,
    ) -> Result<Expr, ParseError> {
        let mut left = next(self)?;
        'outer: loop {
            for (token, op) in ops {
                self.skip_ws();
                let at = self.pos;
                if self.eat_op(token) {
                    self.operator(at)?;
                    let right = next(self)?;
                    left = Expr::Bin(*op, Box::new(left), Box::new(right));
                    continue 'outer;
                }
            }
            return Ok(left);
        }
    }

    fn logic_or(&mut self) -> Result<Expr, ParseError> {
        self.binary(&[("||", Op::LogicOr)], Self::logic_and)
    }

    fn logic_and(&mut self) -> Result<Expr, ParseError> {
        self.binary(&[("&&", Op::LogicAnd)], Self::comparison)
    }

    fn comparison(&mut self) -> Result<Expr, ParseError> {
        // Longest first, so that `<=` is not read as `<` and `<<` is left to `shift`.
        self.binary(
            &[
                ("==", Op::Eq),
                ("!=", Op::Ne),
                ("<=", Op::Le),
                (">=", Op::Ge),
                ("<", Op::Lt),
                (">", Op::Gt),
            ],
            Self::or,
        )
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        self.binary(&[("|", Op::Or)], Self::and)
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        self.binary(&[("&", Op::And)], Self::shift)
    }

    fn shift(&mut self) -> Result<Expr, ParseError> {
        self.binary(&[("<<", Op::Shl)], Self::sum)
    }

    fn sum(&mut self) -> Result<Expr, ParseError> {
        self.binary(&[("+", Op::Add), ("-", Op::Sub)], Self::product)
    }

    fn product(&mut self) -> Result<Expr, ParseError> {
        self.binary(
            &[("*", Op::Mul), ("/", Op::Div), ("%", Op::Rem)],
            Self::unary,
        )
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        self.skip_ws();
        let at = self.pos;
        let make: fn(Box<Expr>) -> Expr = if self.eat("-") {
            Expr::Neg
        } else if self.eat("~") {
            Expr::Not
        } else if self.peek_is("!") && !self.peek_is("!=") {
            self.eat("!");
            Expr::LogicNot
        } else {
            return self.atom();
        };
        self.operator(at)?;
        self.nest(at)?;
        let operand = self.unary()?;
        self.depth -= 1;
        Ok(make(Box::new(operand)))
    }

    fn atom(&mut self) -> Result<Expr, ParseError> {
        self.skip_ws();
        let rest = &self.text[self.pos..];
        let start = self.pos;
        if self.eat("(") {
            self.nest(start)?;
            let e = self.logic_or()?;
            if !self.eat(")") {
                return Err(self.error("expected `)`".into()));
            }
            self.depth -= 1;
            return Ok(e);
        }
        let word_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
            .unwrap_or(rest.len());
        if word_len == 0 {
            return Err(self.error(if rest.is_empty() {
                "expected a value, found the end".into()
            } else {
                format!("expected a value, found `{rest}`")
            }));
        }
        let word = &rest[..word_len];
        self.pos += word_len;
        let at = |message: String| ParseError { at: start, message };
        if let Some(name) = word.strip_prefix('$') {
            return (self.cx.resolve)(name)
                .map(|slot| Expr::Ref(name.to_string(), slot))
                .map_err(at);
        }
        if word.starts_with(|c: char| c.is_ascii_digit()) {
            return parse_number(word)
                .map(Expr::Num)
                .ok_or_else(|| at(format!("`{word}` is not a number")));
        }
        if word == "PAGE" {
            return Ok(Expr::Page);
        }
        if word == "HPAGE" {
            return Ok(Expr::HugePage);
        }
        if word == "HPAGE_2M" {
            return Ok(Expr::Sym("HPAGE_2M", HPAGE_2M));
        }
        resolve_symbol(word, self.cx.families)
            .map(|k| Expr::Sym(k.name, k.value))
            .map_err(at)
    }
}

fn parse_number(word: &str) -> Option<u64> {
    let clean = word.replace('_', "");
    if let Some(hex) = clean
        .strip_prefix("0x")
        .or_else(|| clean.strip_prefix("0X"))
    {
        u64::from_str_radix(hex, 16).ok()
    } else if let Some(oct) = clean.strip_prefix("0o") {
        u64::from_str_radix(oct, 8).ok()
    } else {
        clean.parse().ok()
    }
}

/// Resolves a constant name allowed in `families`, or says what is wrong and what was probably meant.
pub fn resolve_symbol(word: &str, families: &[Family]) -> Result<&'static names::Constant, String> {
    match names::constant(word) {
        Some(k) if families.contains(&k.family) || k.family == Family::Misc => Ok(k),
        Some(k) => Err(format!(
            "`{word}` is a {}, but this argument takes {}",
            k.family.describe(),
            describe_families(families)
        )),
        None => {
            let candidates = names::CONSTANTS
                .iter()
                .filter(|k| families.contains(&k.family))
                .map(|k| k.name)
                .chain(["PAGE", "HPAGE", "HPAGE_2M"]);
            let near = names::nearest(word, candidates);
            Err(match near.first() {
                Some(best) => format!("unknown name `{word}`; did you mean `{best}`?"),
                None if families.is_empty() => {
                    format!("unknown name `{word}`; this argument takes numbers, PAGE and $names")
                }
                None => format!(
                    "unknown name `{word}`; this argument takes {}",
                    describe_families(families)
                ),
            })
        }
    }
}

fn describe_families(families: &[Family]) -> String {
    if families.is_empty() {
        return "a number".into();
    }
    families
        .iter()
        .map(|f| f.describe())
        .collect::<Vec<_>>()
        .join(" or ")
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;
    impl Scope for Fixed {
        fn page(&self) -> u64 {
            4096
        }
        fn slot(&self, index: usize) -> Option<u64> {
            (index == 0).then_some(0x7000_0000)
        }
    }

    fn resolve(name: &str) -> Result<usize, String> {
        match name {
            "m" => Ok(0),
            "gone" => Ok(1),
            _ => Err(format!("`${name}` is not defined by an earlier step")),
        }
    }

    fn eval(text: &str, families: &[Family]) -> Result<u64, String> {
        let cx = Context {
            families,
            resolve: &resolve,
        };
        let e = parse(text, &cx).map_err(|e| format!("{}@{}", e.message, e.at))?;
        e.eval(&Fixed).map_err(|e| e.to_string())
    }

    #[test]
    fn arithmetic_and_page() {
        assert_eq!(eval("PAGE", &[]), Ok(4096));
        assert_eq!(eval("2*HPAGE_2M", &[]), Ok(4 << 20));
        let huge = eval("HPAGE", &[]).unwrap();
        assert!(huge.is_power_of_two() && huge >= 1 << 20, "HPAGE = {huge}");
        // $m is 0x7000_0000: one byte past it rounds up to the next 2 MiB boundary.
        assert_eq!(
            eval("($m+1+HPAGE_2M-1)&~(HPAGE_2M-1)", &[]),
            Ok(0x7020_0000)
        );
        assert_eq!(eval("3*PAGE", &[]), Ok(3 * 4096));
        assert_eq!(eval("PAGE-1", &[]), Ok(4095));
        assert_eq!(eval("2*PAGE+1", &[]), Ok(8193));
        assert_eq!(eval("2*(PAGE+1)", &[]), Ok(8194));
        assert_eq!(eval(" 0x10 | 0o7 ", &[]), Ok(0x17));
        assert_eq!(eval("-1", &[]), Ok(u64::MAX));
        assert_eq!(eval("~(PAGE-1)", &[]), Ok(!4095));
        assert_eq!(eval("1<<40", &[]), Ok(1 << 40));
        assert_eq!(eval("1_000", &[]), Ok(1000));
    }

    #[test]
    fn refs_and_flags() {
        assert_eq!(eval("$m+PAGE", &[]), Ok(0x7000_1000));
        assert_eq!(eval("MAP_PRIVATE|MAP_ANONYMOUS", &[Family::Map]), Ok(0x22));
        assert_eq!(
            eval("MAP_SHARED|0x80000000", &[Family::Map]),
            Ok(0x8000_0001)
        );
        assert_eq!(
            eval("$gone", &[]),
            Err("$gone is unavailable (its step failed or did not run)".into())
        );
        assert_eq!(eval("PAGE/0", &[]), Err("division by zero".into()));
    }

    #[test]
    fn comparisons_and_logic() {
        assert_eq!(eval("PAGE % 1000", &[]), Ok(96));
        assert_eq!(eval("PAGE == 4096", &[]), Ok(1));
        assert_eq!(eval("PAGE != 4096", &[]), Ok(0));
        assert_eq!(eval("1 < 2 && 2 <= 2 && 3 > 2 && 3 >= 4", &[]), Ok(0));
        assert_eq!(eval("0 || 5 > 4", &[]), Ok(1));
        assert_eq!(eval("!0 && !(1 == 2)", &[]), Ok(1));
        assert_eq!(eval("(0x22 & 3) == 2", &[]), Ok(1));
        assert_eq!(eval("1 << 3 == 8", &[]), Ok(1));
    }

    #[test]
    fn errors_point_at_the_word() {
        assert_eq!(
            eval("PROT_READ|PROT_RAED", &[Family::Prot]),
            Err("unknown name `PROT_RAED`; did you mean `PROT_READ`?@10".into())
        );
        assert_eq!(
            eval("MAP_SHARED", &[Family::Prot]),
            Err("`MAP_SHARED` is a mmap flag (MAP_*), but this argument takes protection (PROT_*)@0".into())
        );
        assert_eq!(
            eval("$x+1", &[]),
            Err("`$x` is not defined by an earlier step@0".into())
        );
        assert_eq!(
            eval("PAGE+", &[]),
            Err("expected a value, found the end@5".into())
        );
        assert_eq!(eval("(PAGE", &[]), Err("expected `)`@5".into()));
        assert_eq!(eval("PAGE PAGE", &[]), Err("unexpected `PAGE`@5".into()));
        assert_eq!(eval("12ab", &[]), Err("`12ab` is not a number@0".into()));
    }

    #[test]
    fn nesting_and_length_are_bounded() {
        // At the limit, fine; beyond it, an error at the first operator too many.
        let nested = |n: usize| format!("{}1{}", "(".repeat(n), ")".repeat(n));
        assert_eq!(eval(&nested(MAX_NESTING), &[]), Ok(1));
        assert_eq!(
            eval(&nested(MAX_NESTING + 1), &[]),
            Err("the expression nests more than 64 parentheses and unary operators deep@64".into())
        );
        assert_eq!(eval(&format!("{}1", "-".repeat(64)), &[]), Ok(1));
        assert!(eval(&format!("{}1", "~".repeat(65)), &[])
            .unwrap_err()
            .ends_with("deep@64"));
        let sum = |n: usize| format!("1{}", "+1".repeat(n));
        assert_eq!(eval(&sum(MAX_OPERATORS), &[]), Ok(257));
        assert_eq!(
            eval(&sum(MAX_OPERATORS + 1), &[]),
            Err("the expression has more than 256 operators@513".into())
        );
    }
}
