"""The note on a ready document that names the pages that were skipped."""


def page_warning(page_count: int, empty_pages: list[int], unreadable_pages: list[int]) -> str:
    parts = []
    if empty_pages:
        has = "has" if len(empty_pages) == 1 else "have"
        parts.append(
            f"{len(empty_pages)} of {page_count} pages {has} no text (blank, or a picture without words) and "
            f"{'was' if has == 'has' else 'were'} skipped: {page_list(empty_pages)}."
        )
    if unreadable_pages:
        was = "was" if len(unreadable_pages) == 1 else "were"
        parts.append(
            f"{len(unreadable_pages)} of {page_count} pages could not be read and {was} skipped: "
            f"{page_list(unreadable_pages)}."
        )
    return " ".join(parts)


def page_list(pages: list[int], shown: int = 10) -> str:
    listed = ", ".join(str(page) for page in pages[:shown])
    return f"page {listed}" if len(pages) == 1 else f"pages {listed}" + (" and more" if len(pages) > shown else "")
