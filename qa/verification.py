"""An answer's citations, stored each with whether the passage it cites supports it."""

from django.conf import settings

from . import citations, prompting
from .models import Answer, Citation


def resolve_citations(answer: Answer, blocks: list[prompting.Block], embed: citations.Embed) -> None:
    """Stores each citation of a source that was in the prompt, with its verified flag; counts the rest."""
    if not answer.text:
        return
    sources = {source.number: source for source in answer.sources.all()}
    titles: dict[str, list[int]] = {}
    for block in blocks:
        titles.setdefault(block.title.lower(), []).append(block.source)
    references, unknown = citations.find_references(
        answer.text,
        urls={b.url: b.source for b in blocks},
        # Passages of one document share its title, so a title names a block only when it is unique.
        titles={title: numbers[0] for title, numbers in titles.items() if len(numbers) == 1},
    )
    # "source: 1" and "url: <url of 1>" on the same lines are one citation, not two.
    claims = list({(c.source, c.start, c.end): c for c in citations.claims_for(answer.text, references)}.values())
    known = [c for c in claims if c.source in sources]
    answer.unknown_references = len(unknown) + len({c.source for c in claims if c.source not in sources})
    rows = []
    for number in sorted({c.source for c in known}):
        source_claims = [c for c in known if c.source == number]
        supports = citations.support([c.text or answer.text for c in source_claims], sources[number].text, embed)
        for claim, found in zip(source_claims, supports, strict=True):
            rows.append(
                Citation(
                    answer=answer,
                    source=sources[number],
                    claim=claim.text,
                    claim_start=claim.start,
                    claim_end=claim.end,
                    form=claim.form,
                    support=found.score,
                    is_verified=found.score >= settings.CITATION_SUPPORT_THRESHOLD,
                    highlight_start=found.start,
                    highlight_end=found.end,
                )
            )
    Citation.objects.bulk_create(rows)
