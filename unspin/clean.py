"""Page boilerplate: ad slots, "Source link" trailers, spintax leftovers.

Content farms scrape an article, run it through a spinner and paste it into a
page template.  What comes out carries debris that is not part of the article
and that would mislead every later step (the language model scores ``[ad_1]``
as a very unlikely word, and a spun "Source link" reads "Supply hyperlink"):

* ad slots such as ``[ad_1]``, ``[ad-3]`` or a bare ``[ad]`` that the
  template's ad plugin failed to fill;
* a trailer such as "Source link" (or its spun forms "Supply hyperlink",
  "Source hyperlink", "Supply link"), "Source: link" or "Read more" on the
  last lines of the page;
* spintax the spinner did not expand: ``{big|large|huge}``, or a single word
  left in braces, ``{hardware}``.

``boilerplate_edits(text)`` finds all three and returns them as
:class:`unspin.records.Edit` records (``kind="boilerplate"``) with offsets
into ``text``, so the cleaning is explained and replayable like any other
edit; ``clean_text(text)`` applies them.

How it avoids false positives
-----------------------------
Clean text that comes back changed is a bug, so every rule matches the
template's exact debris and nothing that merely resembles it:

* Ad slots are the literal placeholders (WordPress-style shortcodes) that
  scraping templates leave where an ad was meant to go.  A
  numbered slot (``[ad_1]``) is removed wherever it is; a bare ``[ad]`` only
  when it is alone on its line, because inside a sentence it can be an
  editor's insertion in a quotation ("the [ad] was misleading").  Citation
  markers (``[1]``) and other bracketed text never match.
* Trailers are removed only when they fill whole lines at the very end of the
  page (after them there is nothing but blank lines and ad slots).  The same
  words inside a sentence, or a "Source: Reuters" photo caption anywhere,
  stay: the pattern wants "link" or "hyperlink", not a name.
* Spintax must look like spintax: options made of words and single spaces,
  separated by a bare ``|`` (no spaces around it, so set-builder notation
  ``{x | x > 0}`` does not match), with no quotes, colons, equals signs,
  nested braces or line breaks (so JSON and code do not match).  Braces glued
  to a word, a path or a sigil (``\\textbf{word}``, ``${HOME}``,
  ``file.{txt|md}``), doubled braces (``{{name}}``) and braces after ``=`` or
  ``:`` are left alone.  A single braced word must be a plain lower-case or
  capitalised word of two letters or more, so ``{x}``, ``{N}``, ``{userName}``
  and ``{MAX_SIZE}`` stay.  Spintax is never nested, so anything inside
  another pair of braces (a code block, a template) is left alone, inline ad
  slots included; an unmatched ``{`` earlier on the page switches these two
  rules off for the rest of it, which costs recall, never precision.

Whitespace: removing a marker takes its own line break (or one adjacent
space) with it, and a removal never glues two words together.  Whitespace left
at the start or end of the page by removals is taken by those edits too;
whitespace anywhere else is never touched.
"""
from __future__ import annotations

import re

from .records import Edit

__all__ = [
    "ad_slot_edits",
    "source_link_edits",
    "spintax_edits",
    "boilerplate_edits",
    "clean_text",
]

# Horizontal whitespace: any white space except line breaks.
_HSPACE = r"[^\S\r\n]"

# A numbered ad slot, as scraped pages carry it where the template's ad was
# not filled in: "[ad_1]", "[ad_2]", "[ad-3]", "[ad1]".  Case-insensitive, so
# "[AD_1]" too.
_NUMBERED_AD = r"\[ad[_-]?\d{1,3}\]"
# Either a numbered slot or the bare "[ad]" (only trusted alone on a line).
_ANY_AD = r"\[ad(?:[_-]?\d{1,3})?\]"

# One or more ad slots filling a whole line, with the line break after it
# (or the end of the text, for a slot on the last line).
_AD_LINE_RE = re.compile(
    rf"""
    (?<![^\r\n]) {_HSPACE}*           # start of a line (after \n, \r\n or \r), indent
    {_ANY_AD} (?:{_HSPACE}*{_ANY_AD})*  # one or more slots: "[ad_1]", "[ad_1] [ad_2]"
    {_HSPACE}*                        # trailing blanks
    (?: \r\n | \n | \r | \Z )         # its line break, or the end of the text
    """,
    re.VERBOSE | re.IGNORECASE,
)

# A run of numbered ad slots inside a line of text: "word [ad_1] word".
_AD_INLINE_RE = re.compile(
    rf"""
    {_NUMBERED_AD} (?:{_HSPACE}*{_NUMBERED_AD})*   # "[ad_1]" or "[ad_1] [ad_2]"
    """,
    re.VERBOSE | re.IGNORECASE,
)

# A line that is a page trailer.  Matched against a whole line (fullmatch),
# case-insensitively, and only on the last lines of the page.
_TRAILER_RE = re.compile(
    rf"""
    {_HSPACE}*
    (?:
        (?:source|supply) {_HSPACE}* :? {_HSPACE}*   # "Source", spun "Supply", "Source:"
        (?:link|hyperlink)                           # "link", spun "hyperlink"
      | read {_HSPACE}+ more                          # "Read more"
    )
    {_HSPACE}* (?:\.\.\.|…|»|›|→)? {_HSPACE}*         # "Read more …", "Read more »"
    """,
    re.VERBOSE | re.IGNORECASE,
)

# One spintax option: words (letters, digits, apostrophes, hyphens) joined by
# single spaces.  No quotes, colons, "=", braces, line breaks, or spaces next
# to the "|" separators.
_OPTION = r"[\w'’\-]+(?:[ ][\w'’\-]+)*"

# Characters that, glued to the opening brace, mean the braces are markup or
# code rather than spintax: a word character (LaTeX "\textbf{", "_{ij}"),
# "{{" templates, "${VAR}", "%{x}", Ruby "#{x}", "\{", "file.{a|b}",
# "src/{a|b}", "@{x}", "x^{2}".
_CODE_BEFORE = r"[\w{$%#\\./@^]"

_SPINTAX_RE = re.compile(
    rf"""
    (?<!{_CODE_BEFORE})                 # not glued to a word, path or sigil
    \{{
      ( {_OPTION} (?:\|{_OPTION})+ )     # two or more options: "{{big|large|huge}}"
    \}}
    (?![\w}}])                          # not glued to a word or another brace
    """,
    re.VERBOSE,
)

_BRACED_WORD_RE = re.compile(
    rf"""
    (?<!{_CODE_BEFORE})                 # not glued to a word, path or sigil
    \{{
      ( [^\W\d_]+ (?:['’\-][^\W\d_]+)* ) # one word of letters: "{{hardware}}", "{{e-mail}}"
    \}}
    (?![\w}}])                          # not glued to a word or another brace
    """,
    re.VERBOSE,
)

# Spintax right after these (ignoring spaces) is an assignment or a mapping:
# "x = {a|b}", "key: {value}".
_CODE_ASSIGN = "=:"


def _edit(text: str, start: int, end: int, after: str, rule: str) -> Edit:
    return Edit(
        start=start,
        end=end,
        before=text[start:end],
        after=after,
        kind="boilerplate",
        confidence=1.0,
        evidence={"rule": rule},
    )


def _line_break_before(text: str, pos: int) -> int:
    """Start of the line break that ends just before ``pos`` (``pos`` if none)."""
    if pos > 0 and text[pos - 1] == "\n":
        return pos - 2 if pos > 1 and text[pos - 2] == "\r" else pos - 1
    if pos > 0 and text[pos - 1] == "\r":
        return pos - 1
    return pos


def _follows_blank_line(text: str, line_start: int) -> bool:
    """True when the line starting at ``line_start`` comes after a blank line."""
    k = _line_break_before(text, line_start)
    if k == line_start or k == 0:
        return False
    while k > 0 and text[k - 1] not in "\r\n" and text[k - 1].isspace():
        k -= 1
    return k > 0 and text[k - 1] in "\r\n"


_BLANK_LINE_RE = re.compile(rf"{_HSPACE}*(?:\r\n|\n|\r)")


def ad_slot_edits(text: str) -> list[Edit]:
    """Remove unfilled ad slots: ``[ad_1]``, ``[ad-3]``, and ``[ad]`` alone on a line.

    A slot alone on its line goes with its line break:

    >>> [e.before for e in ad_slot_edits("One.\\n[ad_1]\\nTwo.")]
    ['[ad_1]\\n']

    Between paragraphs, the slot's paragraph break goes too:

    >>> [e.before for e in ad_slot_edits("One.\\n\\n[ad_2]\\n\\nTwo.")]
    ['[ad_2]\\n\\n']

    Inline, it goes with one neighbouring space, or becomes a space so that
    words are not glued together:

    >>> [(e.before, e.after) for e in ad_slot_edits("One [ad_1] two, three[AD-2]four.")]
    [('[ad_1] ', ''), ('[AD-2]', ' ')]

    A bare ``[ad]`` inside a sentence may be an editor's insertion, and
    citation markers are not ads:

    >>> ad_slot_edits('"The [ad] was false," he said.[1]')
    []
    """
    edits: list[Edit] = []
    for m in _AD_LINE_RE.finditer(text):
        start, end = m.start(), m.end()
        if end == len(text) and not m.group().endswith(("\n", "\r")):
            # Last line, no line break after it: take the one before it,
            # unless the slot line before took it already.
            if not edits or edits[-1].end < start:
                start = _line_break_before(text, start)
        elif _follows_blank_line(text, start):
            blank = _BLANK_LINE_RE.match(text, end)
            if blank:
                end = blank.end()
        edits.append(_edit(text, start, end, "", "ad_slot"))
    line_edits = edits[:]
    inline = list(_AD_INLINE_RE.finditer(text))
    # Inside braces it is code or a template (and removing it could leave
    # spintax that only a second pass would see): leave it.
    in_braces = _inside_braces(text, [m.start() for m in inline])
    j = 0
    for m in inline:
        while j < len(line_edits) and line_edits[j].end <= m.start():
            j += 1
        if j < len(line_edits) and line_edits[j].start <= m.start():
            continue  # part of a slot line, removed whole
        if m.start() not in in_braces:
            edits.append(_inline_ad_edit(text, m.start(), m.end()))
    return sorted(edits, key=lambda e: e.start)


def _inline_ad_edit(text: str, start: int, end: int) -> Edit:
    """The edit removing an ad slot at ``text[start:end]`` inside a line."""
    n = len(text)
    left = start
    while left > 0 and text[left - 1] not in "\r\n" and text[left - 1].isspace():
        left -= 1
    right = end
    while right < n and text[right] not in "\r\n" and text[right].isspace():
        right += 1
    at_line_start = left == 0 or text[left - 1] in "\r\n"
    at_line_end = right == n or text[right] in "\r\n"
    if at_line_end:
        # "text [ad_1]⏎": take the blanks before it, no trailing spaces left.
        return _edit(text, left, right, "", "ad_slot")
    if right > end:
        # "[ad_1] text" or "a [ad_1] b": take the blanks after it.
        return _edit(text, start, right, "", "ad_slot")
    if left < start or at_line_start:
        # "a [ad_1]b" or "⏎[ad_1]b": nothing to glue.
        return _edit(text, start, end, "", "ad_slot")
    # "a[ad_1]b": a space keeps the neighbours apart, except next to brackets
    # and punctuation that hug a word: "([ad_1]b" or "a[ad_1]."
    if text[start - 1] in "([{\"'“‘" or text[end] in ")]}.,;:!?\"'”’":
        return _edit(text, start, end, "", "ad_slot")
    return _edit(text, start, end, " ", "ad_slot")


def _lines_backward(text: str):
    """(start, end) of each line, last line first, line breaks excluded."""
    pos = len(text)
    while True:
        start = pos
        while start > 0 and text[start - 1] not in "\r\n":
            start -= 1
        yield start, pos
        if start == 0:
            return
        pos = _line_break_before(text, start)


def _line_as_cleaned(line: str) -> str:
    """A line as it reads once ad slots and spintax are cleaned from it."""
    line = _AD_INLINE_RE.sub(" ", line)
    return _apply(line, spintax_edits(line))


# A trailer line is a few words; longer lines are content, not worth a look.
_MAX_TRAILER_LINE = 200


def source_link_edits(text: str) -> list[Edit]:
    """Remove "Source link" (and its spun forms) and "Read more" lines ending the page.

    Blank lines and ad slots among them are skipped over (the ad slots are
    :func:`ad_slot_edits`' job); the first line of anything else stops it.

    >>> t = "Last words.\\n[ad_2]\\nSupply hyperlink\\nRead more"
    >>> [e.before for e in source_link_edits(t)]
    ['Supply hyperlink', 'Read more']

    A caption or a sentence mentioning a source link is content:

    >>> source_link_edits("Chart.\\nSource: TradingView\\nThe source link was broken.")
    []
    >>> source_link_edits("Source link\\nThe article starts late.")
    []
    """
    edits: list[Edit] = []
    for start, end in _lines_backward(text):
        line = text[start:end]
        if not line.strip() or _AD_LINE_RE.fullmatch(line):
            continue
        if len(line) > _MAX_TRAILER_LINE or not _TRAILER_RE.fullmatch(_line_as_cleaned(line)):
            break
        edits.append(_edit(text, start, end, "", "source_link"))
    return edits[::-1]


def _after_assignment(text: str, pos: int) -> bool:
    """True when the last non-blank character before ``pos`` is ``=`` or ``:``."""
    k = pos
    while k > 0 and text[k - 1] in " \t":
        k -= 1
    return k > 0 and text[k - 1] in _CODE_ASSIGN


_BRACE_RE = re.compile(r"[{}]")


def _inside_braces(text: str, starts: list[int]) -> set[int]:
    """Those of the sorted positions ``starts`` that lie inside an open brace.

    Spintax is never nested, so braces inside other braces are code, a
    template or nested structure: ``{outer {a|b}}``, ``f() {\\n return {a|b};\\n}``.
    """
    inside: set[int] = set()
    depth = 0
    braces = _BRACE_RE.finditer(text)
    brace = next(braces, None)
    for pos in starts:
        while brace is not None and brace.start() < pos:
            depth = depth + 1 if brace.group() == "{" else max(0, depth - 1)
            brace = next(braces, None)
        if depth:
            inside.add(pos)
    return inside


def spintax_edits(text: str) -> list[Edit]:
    """Expand leftover spintax to its first option, and unbrace single words.

    >>> [(e.before, e.after) for e in spintax_edits("A {big|large|huge} deal of {hardware}.")]
    [('{big|large|huge}', 'big'), ('{hardware}', 'hardware')]

    Code, JSON, maths, templates and LaTeX stay as they are:

    >>> spintax_edits('{"a": 1}, f(x) = {x | x > 0}, {{name}}, ${HOME}, \\\\emph{word}, {x}, {userName}')
    []
    >>> spintax_edits("{outer {a|b}} if (x) {\\n  return {this|that};\\n}")
    []
    """
    edits: list[Edit] = []
    for m in _SPINTAX_RE.finditer(text):
        options = m.group(1).split("|")
        if _after_assignment(text, m.start()) or not all(
            any(c.isalpha() for c in o) for o in options
        ):
            continue
        edits.append(_edit(text, m.start(), m.end(), options[0], "spintax"))
    for m in _BRACED_WORD_RE.finditer(text):
        word = m.group(1)
        if (
            len(word) < 2
            or any(c.isupper() for c in word[1:])
            or _after_assignment(text, m.start())
        ):
            continue
        edits.append(_edit(text, m.start(), m.end(), word, "braced_word"))
    edits.sort(key=lambda e: e.start)
    nested = _inside_braces(text, [e.start for e in edits])
    return [e for e in edits if e.start not in nested]


def _absorb_edge_whitespace(text: str, edits: list[Edit]) -> list[Edit]:
    """Let removals at the start or end of the page take the whitespace around them.

    ``edits`` are sorted and do not overlap.  Only pure removals (``after ==
    ""``) count: a run of them, with nothing but whitespace between, from the
    start of the page or up to its end, is widened to cover that whitespace.
    """
    if not edits:
        return edits
    n = len(text)
    spans = [[e.start, e.end, e.after, e.evidence["rule"]] for e in edits]

    # Leading run: edits 0..i-1.
    i, pos = 0, 0
    while i < len(spans) and spans[i][2] == "" and not text[pos : spans[i][0]].strip():
        pos = spans[i][1]
        i += 1
    if i:
        content = pos
        while content < n and text[content].isspace():
            content += 1
        spans[0][0] = 0
        for k in range(i - 1):
            spans[k][1] = spans[k + 1][0]
        spans[i - 1][1] = content

    # Trailing run: edits j..end.
    j, pos = len(spans), n
    while j > 0 and spans[j - 1][2] == "" and not text[spans[j - 1][1] : pos].strip():
        pos = spans[j - 1][0]
        j -= 1
    if j < len(spans):
        content = pos
        floor = spans[j - 1][1] if j else 0
        while content > floor and text[content - 1].isspace():
            content -= 1
        spans[j][0] = content
        for k in range(j, len(spans) - 1):
            spans[k + 1][0] = spans[k][1]
        spans[-1][1] = n

    return [_edit(text, s, e, after, rule) for s, e, after, rule in spans]


def _without_overlaps(candidates: list[Edit], taken: list[Edit]) -> list[Edit]:
    """``taken`` plus those ``candidates`` that overlap nothing; both sorted."""
    added: list[Edit] = []
    i = 0
    for e in candidates:
        while i < len(taken) and taken[i].end <= e.start:
            i += 1
        if i < len(taken) and taken[i].start < e.end:
            continue
        if added and added[-1].end > e.start:
            continue
        added.append(e)
    return sorted(taken + added, key=lambda e: e.start)


def boilerplate_edits(text: str) -> list[Edit]:
    """All boilerplate removals for ``text``: sorted, non-overlapping, replayable.

    >>> page = "[ad_1]\\nThe {big|large} news.\\n[ad_2]\\nSource link"
    >>> for e in boilerplate_edits(page):
    ...     print(e.start, e.end, repr(e.before), repr(e.after), e.evidence["rule"])
    0 7 '[ad_1]\\n' '' ad_slot
    11 22 '{big|large}' 'big' spintax
    28 36 '\\n[ad_2]\\n' '' ad_slot
    36 47 'Source link' '' source_link

    Text without boilerplate gives no edits, whatever its whitespace:

    >>> boilerplate_edits("  Indented.\\n\\nSource: Reuters\\n")
    []
    """
    # Trailers first: a trailer line is removed whole, ad slots and all.
    edits = source_link_edits(text)
    edits = _without_overlaps(ad_slot_edits(text), edits)
    edits = _without_overlaps(spintax_edits(text), edits)
    return _absorb_edge_whitespace(text, edits)


def _apply(text: str, edits: list[Edit]) -> str:
    parts = []
    pos = 0
    for e in edits:
        parts.append(text[pos : e.start])
        parts.append(e.after)
        pos = e.end
    parts.append(text[pos:])
    return "".join(parts)


def clean_text(text: str) -> str:
    """``text`` with its page boilerplate removed.

    >>> clean_text("[ad_1]\\nPutin will {visit|go to} Kazakhstan.\\n[ad_2]\\nSupply hyperlink\\n")
    'Putin will visit Kazakhstan.'
    >>> clean_text("Nothing to do here.\\n")
    'Nothing to do here.\\n'
    """
    return _apply(text, boilerplate_edits(text))
