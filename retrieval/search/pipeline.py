"""Hybrid search over one snapshot: dense + BM25, fused, capped per article, highlighted."""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections.abc import Callable

import numpy as np

from retrieval.index.snapshot import Snapshot
from retrieval.search.candidates import ExtraTerms, Retrieved, retrieve
from retrieval.search.confidence import (
    labels,
    mixed_share,
    page_length,
    plain_share,
    question_words,
    support,
)
from retrieval.search.copies import collapse_copies, with_other_copies
from retrieval.search.expansion import (
    article_scores as expansion_scores,
)
from retrieval.search.expansion import (
    expanded_retrieval,
    reorder_articles,
)
from retrieval.search.followup import FollowUpContext, context_need, earlier_text
from retrieval.search.fusion import cap_per_article, order_by_score
from retrieval.search.highlight import SentenceMatch, best_sentences, choose_answer_sentences
from retrieval.search.links import text_fragment_link
from retrieval.search.params import SearchParams, TimeParams
from retrieval.search.recency import (
    RowFilter,
    best_per_article,
    time_weighted_order,
    visible_rows,
)
from retrieval.search.results import Hit, SearchResult, TimeContext
from retrieval.text.analyzer import Analyzer
from retrieval.text.passage_sentences import Sentences
from retrieval.text.sentences import without_heading_lines

__all__ = ["SearchParams", "search_snapshot"]

NEAREST_TITLES = 3
# The sentence evidence looks at this many first answers whatever the page size, so a
# question gets the same confidence (and the same abstention) with any -k.
CONFIDENCE_PASSAGES = 5
# A follow-up's earlier questions count at this share of its need (followup.py), in the BM25
# words and in the question vector: below the follow-up's own words, which say what is new.
CONTEXT_TERMS_WEIGHT = 0.5
CONTEXT_VECTOR_WEIGHT = 0.5
# Articles cited before gain up to this much fused score (convex fusion is 0..1), the most
# recently cited most: preferred among close matches, never lifted over clearly better ones.
CITED_BONUS = 0.05


def search_snapshot(
    snapshot: Snapshot,
    question: str,
    params: SearchParams,
    *,
    encode_query: Callable[[str], np.ndarray],
    analyzer: Analyzer,
    context: FollowUpContext | None = None,
) -> SearchResult:
    """`context`: the conversation's earlier questions and citations, searched with the
    question as much as it needs them (followup.py); None: the question alone."""
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round((now - clock) * 1000, 3)
        clock = now

    query_tokens = analyzer.tokens([question])[0]
    pool = max(params.candidates, params.offset + params.k)
    use_dense = params.mode in ("hybrid", "dense")
    when = params.time
    allowed = visible_rows(snapshot.chunks, when)
    if allowed is not None and not allowed.any():
        return _nothing_in_window(snapshot, question, params, timings)
    is_subject = _subject_test(snapshot, analyzer)
    words = question_words(question, query_tokens, analyzer, is_subject)
    need = 0.0
    earlier_tokens: list[str] = []
    if context is not None and context.questions:
        need = context_need(question, words.content, is_subject)
        if need > 0:
            asked = set(query_tokens)
            earlier_tokens = [
                t for t in analyzer.tokens([earlier_text(context)])[0] if t not in asked
            ]
            earlier_words = question_words(
                earlier_text(context), earlier_tokens, analyzer, is_subject
            )
            if not earlier_words.content:
                need, earlier_tokens = 0.0, []
            else:
                # The earlier question supplies the subject: not vague, not a browse.
                words = dataclasses.replace(
                    words,
                    content=list(dict.fromkeys(words.content + earlier_words.content)),
                    vague=False,
                )
    if when is not None and when.browse and need == 0:
        return _browse_window(snapshot, question, params, allowed, analyzer, timings)
    if words.vague and params.abstain_threshold is not None:
        return _abstained(question, params, "vague", timings)
    evidence_tokens = query_tokens + earlier_tokens

    # The question vector is needed for the dense retriever and for the confidence score,
    # which is computed the same way in every mode so one threshold means one thing.
    query_vector: np.ndarray | None = None
    if (use_dense or params.abstain_threshold is not None) and len(snapshot.chunks):
        query_vector = encode_query(question)
        if need > 0 and context is not None:
            moved = query_vector + CONTEXT_VECTOR_WEIGHT * need * encode_query(
                earlier_text(context)
            )
            query_vector = (moved / np.linalg.norm(moved)).astype(np.float32)
        lap("encode")
    dense_vector = query_vector if use_dense else None
    extra = _context_terms(snapshot, earlier_tokens, query_tokens, CONTEXT_TERMS_WEIGHT * need)
    retrieved = retrieve(snapshot, dense_vector, query_tokens, extra, params, pool, allowed)
    if need > 0 and context is not None and context.cited:
        retrieved = _prefer_cited(snapshot, retrieved, context.cited, need)
    # With earlier words, the evidence is the combined question's at full weight (rescored).
    first_pass = dataclasses.replace(retrieved, all_bm25=None) if earlier_tokens else retrieved
    cosine, bm25_shares = _evidence(snapshot, first_pass, query_vector, evidence_tokens)
    feedback: tuple[list[str], list[int]] | None = None
    article_scores: dict[str, float] | None = None
    if params.feedback_docs and retrieved.fused and params.mode == "hybrid":
        expanded = expanded_retrieval(
            snapshot, dense_vector, query_tokens, retrieved, params, pool, analyzer, allowed, extra
        )
        blended, scores = expansion_scores(snapshot, retrieved, expanded, dense_vector, params)
        new_order = sorted(blended, key=lambda a: (-blended[a], a))
        article_scores = blended
        feedback = (new_order, order_by_score(expanded.fused))
        # Hits report the question's own score, also for passages only feedback found.
        retrieved = dataclasses.replace(retrieved, fused=scores)
    lap("retrieve")
    ordered = order_by_score(retrieved.fused)
    sentences: dict[int, SentenceMatch] = {}
    rerank = params.sentence_weight > 0 or params.sentence_cosine_weight > 0
    if rerank and ordered and evidence_tokens:
        ordered, sentences = _rerank_by_sentence(
            snapshot, ordered, retrieved.fused, evidence_tokens, params, analyzer, dense_vector
        )
    if feedback is not None:
        ordered = reorder_articles(ordered, snapshot.chunks.article_ids, *feedback)
    row_times = snapshot.chunks.published
    if when is not None and ordered and row_times is not None:  # None: nothing is dated
        if article_scores is None:
            article_scores = best_per_article(ordered, retrieved.fused, snapshot.chunks.article_ids)
        # An article's time from its rows' column: no article record is read per candidate.
        published = {
            article_of_row: float(row_times[row])
            for row in ordered
            if (article_of_row := snapshot.chunks.article_ids[row]) in article_scores
            and not np.isnan(row_times[row])
        }
        by_time = time_weighted_order(article_scores, published, when)
        if by_time is not None:
            ordered = reorder_articles(ordered, snapshot.chunks.article_ids, by_time, ordered)
    lap("rerank")
    article_of = snapshot.chunks.article_ids
    ranked_articles = list(dict.fromkeys(article_of[r] for r in ordered))
    # Wire copies: one copy of a story is quoted, the others are named beside it (copies.py).
    ordered, also_in = collapse_copies(
        ordered, article_of, snapshot.copies, retrieved.fused, snapshot.articles
    )
    capped = cap_per_article(
        ordered,
        article_of,
        params.per_article_cap,
        (snapshot.chunks.starts, snapshot.chunks.ends),
    )
    page = capped[params.offset : params.offset + params.k]
    lap("fusion")

    cosines: dict[int, float] = {}
    if query_vector is not None and page:
        # Cosine for every shown row, also those only BM25 found: vectors are unit length.
        sims = snapshot.vectors[np.array(page)] @ query_vector
        cosines = dict(zip(page, sims.tolist(), strict=True))
    bm25_by_row: dict[int, float] = dict(
        zip(retrieved.bm25_rows.tolist(), retrieved.bm25_scores.tolist(), strict=True)
    )
    dense_found = set(retrieved.dense_rows.tolist())

    # Sentence matches for the first answers (confidence) and the page shown (highlights).
    first_page = capped[:CONFIDENCE_PASSAGES]
    missing = [row for row in dict.fromkeys(first_page + page) if row not in sentences]
    if missing:
        sentences.update(
            zip(
                missing,
                _sentence_matches(snapshot, missing, evidence_tokens, analyzer),
                strict=True,
            )
        )
    rows = len(snapshot.chunks)
    looked_at = list(dict.fromkeys(first_page + page + capped[:1]))
    plain = _plain_shares(snapshot, looked_at, words.content, analyzer)

    def sentence_share(row: int) -> float:
        return mixed_share(sentences[row].share, plain[row][1], rows)

    def bm25_share(row: int) -> float:
        return mixed_share(bm25_shares(row), plain[row][0], rows)

    best_sentence = max((sentence_share(row) for row in first_page), default=0.0)
    top_bm25 = bm25_share(capped[0]) if capped else 0.0
    confidence = support(cosine, top_bm25, best_sentence)

    abstained = not capped or (
        params.abstain_threshold is not None and confidence < params.abstain_threshold
    )

    hits: list[Hit] = []
    nearest: list[str] = []
    left_out = 0
    if abstained:
        # One title per story: the copies of a wire story would name it several times.
        stories = dict.fromkeys(snapshot.copies.group_of.get(a, a) for a in ranked_articles)
        first_of = {snapshot.copies.group_of.get(a, a): a for a in reversed(ranked_articles)}
        nearest = [snapshot.articles[first_of[g]].title for g in list(stories)[:NEAREST_TITLES]]
    else:
        supports = [
            support(
                max(0.0, cosines.get(row, cosine if row == capped[0] else 0.0)),
                bm25_share(row),
                sentence_share(row),
            )
            for row in page
        ]
        if params.cut_page and params.offset == 0 and params.abstain_threshold is not None:
            # The first page stops at a clear drop; "More results" shows the rest.
            kept = page_length(supports)
            left_out = len(page) - kept
            page, supports = page[:kept], supports[:kept]
        # The bold sentence: the ranking's evidence, sentence vectors included (highlight.py).
        chosen = choose_answer_sentences(
            snapshot, page, evidence_tokens, analyzer.tokens, query_vector, question
        )
        for row, (h_start, h_end) in chosen.items():
            sentences[row] = SentenceMatch(h_start, h_end, sentences[row].share)
        # What a reader is shown (the bar) never rises down the page either.
        shown = list(itertools.accumulate(supports, min))
        for row, label, value, bar in zip(page, labels(supports), supports, shown, strict=True):
            hits.append(
                _hit(
                    snapshot,
                    row,
                    retrieved.fused[row],
                    cosines.get(row) if use_dense or row in dense_found else None,
                    bm25_by_row.get(row),
                    max(0.0, min(1.0, bar)),
                    sentences[row],
                    support=value,
                    label=label,
                )
            )
    lap("highlight")
    return SearchResult(
        question=question,
        mode=params.mode,
        hits=with_other_copies(hits, also_in),
        abstained=abstained,
        confidence=confidence,
        reason="no_match" if abstained else None,
        nearest=nearest,
        ranked_article_ids=ranked_articles,
        has_more=not abstained and len(capped) > params.offset + len(hits),
        left_out=left_out,
        timings_ms=timings,
        time=_time_context(params.time, hits),
        context_weight=need,
    )


def _context_terms(
    snapshot: Snapshot, earlier: list[str], asked: list[str], weight: float
) -> ExtraTerms | None:
    """The earlier questions' words as BM25 terms at `weight` (none when 0)."""
    if weight <= 0 or not earlier:
        return None
    scores = snapshot.lexical.scores(earlier)
    if scores is None:
        return None
    own = snapshot.lexical.scores(asked)
    first_rows = np.flatnonzero(own > 0) if own is not None else np.zeros(0, dtype=np.int64)
    return ExtraTerms(
        scores * weight, snapshot.lexical.max_score(earlier) * weight, first_rows.astype(np.int64)
    )


def _prefer_cited(
    snapshot: Snapshot, retrieved: Retrieved, cited: tuple[str, ...], need: float
) -> Retrieved:
    """Rows of the articles cited before, a bounded bonus added (most recent most)."""
    bonus = {article: CITED_BONUS * need / (place + 1) for place, article in enumerate(cited)}
    article_of = snapshot.chunks.article_ids
    fused = {row: score + bonus.get(article_of[row], 0.0) for row, score in retrieved.fused.items()}
    return dataclasses.replace(retrieved, fused=fused)


# A question asking for the latest whose newest evidence is older than this is told so.
OLD_EVIDENCE_DAYS = 30


def _abstained(
    question: str,
    params: SearchParams,
    reason: str,
    timings: dict[str, float],
    time_context: TimeContext | None = None,
) -> SearchResult:
    """A page with no hits, saying why (the `reason` `--json` shows)."""
    return SearchResult(
        question=question,
        mode=params.mode,
        hits=[],
        abstained=True,
        confidence=0.0,
        reason=reason,
        timings_ms=timings,
        time=time_context if time_context is not None else TimeContext(),
    )


def _time_context(when: TimeParams | None, hits: list[Hit]) -> TimeContext:
    newest = max((h.updated or h.published for h in hits if h.published), default=None)
    if when is None:
        return TimeContext(newest_evidence=newest)
    old = (
        when.recency
        and newest is not None
        and (when.now - newest).total_seconds() > OLD_EVIDENCE_DAYS * 86_400
    )
    return TimeContext(
        asked_at=when.now if when.hide_after_now else None,
        window=when.window or None,
        recency=when.recency,
        newest_evidence=newest,
        newest_is_old=old,
    )


def _nothing_in_window(
    snapshot: Snapshot, question: str, params: SearchParams, timings: dict[str, float]
) -> SearchResult:
    """The window holds no article: say so, and name the newest article before it (what the
    asker most likely wants next)."""
    when = params.time
    assert when is not None and when.window is not None
    published = snapshot.chunks.published_times()
    limit = when.window.bounds()[0]
    if when.hide_after_now:
        limit = min(limit, when.now.timestamp())
    before = np.flatnonzero(published < limit)
    newest_title: str | None = None
    newest_date = None
    if len(before):
        row = int(before[np.argmax(published[before])])
        article = snapshot.articles[snapshot.chunks.article_ids[row]]
        newest_title, newest_date = article.title, article.published
    return _abstained(
        question,
        params,
        "empty_window",
        timings,
        time_context=dataclasses.replace(
            _time_context(when, []),
            empty_window=True,
            newest_before_window=newest_date,
            newest_before_title=newest_title,
        ),
    )


def _browse_window(
    snapshot: Snapshot,
    question: str,
    params: SearchParams,
    allowed: RowFilter | None,
    analyzer: Analyzer,
    timings: dict[str, float],
) -> SearchResult:
    """A question that is only its window ("What happened yesterday?"): the window's
    articles, newest first, each by its opening passage (a news story's lead)."""
    assert params.time is not None
    rows = allowed.rows if allowed is not None else np.arange(len(snapshot.chunks))
    first: dict[str, int] = {}
    for row in rows.tolist():
        article = snapshot.chunks.article_ids[row]
        if (
            article not in first
            or snapshot.chunks.ordinals[row] < snapshot.chunks.ordinals[first[article]]
        ):
            first[article] = row
    published = snapshot.chunks.published_times()
    ordered = sorted(first.values(), key=lambda r: (-np.nan_to_num(published[r], nan=-np.inf), r))
    # A wire story is listed once, by its original (every copy ties here), naming the others.
    ordered, also_in = collapse_copies(
        ordered, snapshot.chunks.article_ids, snapshot.copies, {}, snapshot.articles
    )
    page = ordered[params.offset : params.offset + params.k]
    matches = _sentence_matches(snapshot, page, [], analyzer)
    hits = with_other_copies(
        [
            _hit(snapshot, row, 0.0, None, None, 1.0, match)
            for row, match in zip(page, matches, strict=True)
        ],
        also_in,
    )
    return SearchResult(
        question=question,
        mode=params.mode,
        hits=hits,
        abstained=not hits,
        confidence=1.0 if hits else 0.0,
        ranked_article_ids=[snapshot.chunks.article_ids[r] for r in ordered],
        has_more=len(ordered) > params.offset + params.k,
        timings_ms=timings,
        time=_time_context(params.time, hits),
    )


def _hit(
    snapshot: Snapshot,
    row: int,
    score: float,
    cosine: float | None,
    bm25: float | None,
    relevance: float,
    sentence: SentenceMatch,
    *,
    support: float = 0.0,
    label: str | None = None,
) -> Hit:
    article = snapshot.articles[snapshot.chunks.article_ids[row]]
    start, end = int(snapshot.chunks.starts[row]), int(snapshot.chunks.ends[row])
    # Quoted without Markdown heading lines at its edges (text/sentences.py).
    start, end = without_heading_lines(article.text, start, end) or (start, end)
    h_start, h_end = sentence.start, sentence.end
    start, end = min(start, h_start), max(end, h_end)
    return Hit(
        article_id=article.id,
        title=article.title,
        url=article.url,
        published=article.published,
        updated=article.updated,
        source=article.source,
        chunk_id=int(snapshot.chunks.ids[row]),
        ordinal=int(snapshot.chunks.ordinals[row]),
        start=start,
        end=end,
        excerpt=article.text[start:end],
        highlight_start=h_start,
        highlight_end=h_end,
        highlight=article.text[h_start:h_end],
        link=text_fragment_link(article.url, article.text[h_start:h_end]),
        score=score,
        dense_score=cosine,
        bm25_score=bm25,
        relevance=relevance,
        support=support,
        label=label,
    )


def _evidence(
    snapshot: Snapshot,
    retrieved: Retrieved,
    query_vector: np.ndarray | None,
    query_tokens: list[str],
) -> tuple[float, Callable[[int], float]]:
    """Cosine of the best first-pass passage and each row's BM25 share, computed the same way
    in every mode. The share is a row's BM25 score over what matching every question word
    would give, counting words the collection has never seen (an off-topic question's jargon)
    against it."""
    if not retrieved.fused:
        return 0.0, lambda row: 0.0
    row = order_by_score(retrieved.fused)[0]
    cosine = float(snapshot.vectors[row] @ query_vector) if query_vector is not None else 0.0
    possible = snapshot.lexical.max_score(query_tokens, include_unknown=True)
    # The first pass already scored every row unless the mode skipped BM25.
    scores = (
        retrieved.all_bm25
        if retrieved.all_bm25 is not None
        else snapshot.lexical.scores(query_tokens)
    )
    if possible <= 0 or scores is None:
        return cosine, lambda row: 0.0
    found = scores
    return cosine, lambda row: float(found[row]) / possible


def _plain_shares(
    snapshot: Snapshot, rows: list[int], content: list[str], analyzer: Analyzer
) -> dict[int, tuple[float, float]]:
    """Each row's share of the question's content words, in the passage and in its best
    sentence: the evidence that does not depend on the collection's statistics."""
    passages = snapshot.sentences.get(rows, snapshot.passage, analyzer.tokens)
    out: dict[int, tuple[float, float]] = {}
    for row, passage in zip(rows, passages, strict=True):
        whole = plain_share(content, itertools.chain.from_iterable(passage.words))
        best = max((plain_share(content, words) for words in passage.words), default=0.0)
        out[row] = (whole, best)
    return out


def _is_subject(snapshot: Snapshot, word: str, analyzer: Analyzer) -> bool:
    """Whether an article's title holds `word` (analyzed): the collection has a subject by
    that name. Only asked for one-word questions."""
    titles = [article.title for article in snapshot.articles.values()]
    return any(word in tokens for tokens in analyzer.tokens(titles)) if titles else False


def _subject_test(snapshot: Snapshot, analyzer: Analyzer) -> Callable[[str], bool]:
    """`_is_subject` for several words: the titles are analyzed once, on the first word."""
    vocabulary: set[str] | None = None

    def test(word: str) -> bool:
        nonlocal vocabulary
        if vocabulary is None:
            titles = [article.title for article in snapshot.articles.values()]
            vocabulary = set().union(*analyzer.tokens(titles)) if titles else set()
        return word in vocabulary

    return test


def _sentence_matches(
    snapshot: Snapshot, rows: list[int], query_tokens: list[str], analyzer: Analyzer
) -> list[SentenceMatch]:
    passages = snapshot.sentences.get(rows, snapshot.passage, analyzer.tokens)
    return best_sentences(passages, query_tokens, snapshot.lexical.idf)


def _article_specific_matches(
    snapshot: Snapshot,
    rows: list[int],
    passages: list[Sentences],
    query_tokens: list[str],
    analyzer: Analyzer,
    article_of: list[str],
) -> dict[int, SentenceMatch]:
    """Each row's best sentence with the question's words weighted, besides their IDF
    in the collection, by how few of the article's passages hold them. Choosing between
    passages of one article, the words naming its topic (its title's, and those in every
    passage: "Bramcote Vale Academy", "inspectors") say nothing about which passage
    answers; the words found in one passage ("sixth form", "chaired") do."""
    by_article: dict[str, list[int]] = {}
    for position, row in enumerate(rows):
        by_article.setdefault(article_of[row], []).append(position)
    wanted = set(query_tokens)
    shares: dict[int, SentenceMatch] = {}
    for article_id, positions in by_article.items():
        count = len(positions)
        title_words = set(analyzer.tokens([snapshot.articles[article_id].title])[0])
        holding = dict.fromkeys(wanted, 0)
        for position in positions:
            present = wanted.intersection(itertools.chain.from_iterable(passages[position].words))
            for term in present:
                holding[term] += 1
        for term in wanted & title_words:
            holding[term] = count
        scale = math.log1p(count)
        weights = {
            t: snapshot.lexical.idf(t)
            * (math.log1p(count / holding[t]) / scale if holding[t] else 1.0)
            for t in wanted
        }
        article_passages = [passages[p] for p in positions]
        found = best_sentences(article_passages, query_tokens, weights.__getitem__)
        for position, match in zip(positions, found, strict=True):
            shares[rows[position]] = match
    return shares


def _rerank_by_sentence(
    snapshot: Snapshot,
    ordered: list[int],
    fused: dict[int, float],
    query_tokens: list[str],
    params: SearchParams,
    analyzer: Analyzer,
    query_vector: np.ndarray | None,
) -> tuple[list[int], dict[int, SentenceMatch]]:
    """Chooses, within each article, which passage to cite first: the one with a sentence
    holding most of the question's rare words (rare in the collection and among the
    article's passages, see _article_specific_shares), and the sentence closest to it in meaning
    (answers sit in sentences, and fusion cannot see sentence boundaries; the cosine also
    finds answers that paraphrase the question). Articles keep the places fusion gave them,
    so the article ranking is unchanged; only the passage shown in each place can change."""
    head = ordered[: params.rerank_depth]
    article_of = snapshot.chunks.article_ids
    places: dict[str, list[int]] = {}
    for position, row in enumerate(head):
        places.setdefault(article_of[row], []).append(position)
    # Only articles with several passages in the head have a choice to make; the others'
    # sentences are matched later if they are shown (most of the rerank's cost is this).
    contested = [head[p] for positions in places.values() if len(positions) > 1 for p in positions]
    passages = snapshot.sentences.get(contested, snapshot.passage, analyzer.tokens)
    found = best_sentences(passages, query_tokens, snapshot.lexical.idf)
    matches = dict(zip(contested, found, strict=True))
    specific = _article_specific_matches(
        snapshot, contested, passages, query_tokens, analyzer, article_of
    )
    rescored = {row: fused[row] + params.sentence_weight * specific[row].share for row in matches}
    # The sentence shown in bold is the article-specific one too; the confidence keeps the
    # plain share, so abstention means what it did.
    matches = {
        row: SentenceMatch(specific[row].start, specific[row].end, match.share)
        for row, match in matches.items()
    }
    has_sentences = snapshot.sentence_vectors is not None
    if params.sentence_cosine_weight > 0 and has_sentences and query_vector is not None:
        cosines = snapshot.closest_sentence_cosines(contested, query_vector)
        for row, cosine in zip(contested, cosines, strict=True):
            rescored[row] += params.sentence_cosine_weight * cosine
    reordered = list(head)
    for positions in places.values():
        if len(positions) < 2:
            continue
        rows = sorted((head[p] for p in positions), key=lambda r: (-rescored[r], r))
        for position, row in zip(positions, rows, strict=True):
            reordered[position] = row
    return reordered + ordered[params.rerank_depth :], matches
