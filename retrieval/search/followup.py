"""Follow-up questions searched together with the earlier ones of a conversation.

"When was that?" or "What about the ferry?" after "Why was Kestrel Bridge closed?" names no
subject of its own: searched alone it finds nothing or anything. `context_need` reads, from
the follow-up's own words only, how much it leans on what was asked before (0: a full
question on its own, never bent by the context; 1: nothing of its own to search for), and
the search adds the earlier questions' words and direction at that weight and prefers the
articles cited before (pipeline.py). The rules are about the question's form (pronouns,
"what about", no subject word the collection knows), not about any one question.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# Words that point back at something said before (English anaphora and deixis).
ANAPHORA = frozenset(
    "that it they this there then he she him her his hers its their theirs them those these "
    "same such".split()
)
# "What about X?", "And X?", "How about X?": X is asked about in the earlier question's frame.
_WHAT_ABOUT = re.compile(r"^\s*(?:(?:what|how)\s+about|and|also|what\s+else)\b", re.IGNORECASE)

# Need when the follow-up has no content word at all ("When was that?", "Why?").
NO_WORDS = 1.0
# Need for "what about X": X is the new subject, the frame is the earlier question's.
WHAT_ABOUT = 0.8
# A pronoun with no subject word of its own ("When did it reopen?"), and with one.
ANAPHORA_ONLY = 1.0
ANAPHORA_WITH_SUBJECT = 0.5
# A short question (at most SHORT_CONTENT content words) none of which names a subject of
# the collection: probably a fragment of the conversation.
SHORT_CONTENT = 2
SHORT_NO_SUBJECT = 0.5


@dataclass(frozen=True)
class FollowUpContext:
    """What a conversation asked and cited before the question being searched."""

    questions: tuple[str, ...]  # earlier questions, oldest first
    cited: tuple[str, ...] = ()  # article ids cited by earlier answers, most recent first


def context_need(
    question: str,
    content: Sequence[str],
    is_subject: Callable[[str], bool],
) -> float:
    """How much (0..1) the question needs the earlier ones to be searched. `content`: its
    analyzed content words (confidence.question_words); `is_subject(word)`: some article's
    title holds the analyzed word (the collection has a subject by that name)."""
    if not content:
        return NO_WORDS
    written = [w.lower() for w in re.findall(r"\w+", question)]
    if _WHAT_ABOUT.match(question):
        return WHAT_ABOUT
    subjects = [w for w in content if is_subject(w)]
    if any(w in ANAPHORA for w in written):
        return ANAPHORA_WITH_SUBJECT if subjects else ANAPHORA_ONLY
    if not subjects and len(content) <= SHORT_CONTENT:
        return SHORT_NO_SUBJECT
    return 0.0


def earlier_text(context: FollowUpContext, last: int = 2) -> str:
    """The earlier questions searched with a follow-up: the most recent `last` (a thread
    drifts; what was asked long ago is less likely to be what "that" means)."""
    return " ".join(context.questions[-last:])
