"""Limit-and-offset pages for the API's lists, with both bounds enforced."""

from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination

MAX_PAGE = 500
# Beyond what any database here can count to: a larger offset would overflow SQLite's integers.
MAX_OFFSET = 2**31 - 1


class Pages(LimitOffsetPagination):
    """?limit=&offset=, both bounded."""

    class Input(Schema):
        limit: int = Field(100, ge=1, le=MAX_PAGE)
        offset: int = Field(0, ge=0, le=MAX_OFFSET)

    def __init__(self, **kwargs) -> None:
        super().__init__(max_limit=MAX_PAGE, **kwargs)


class LazyRows:
    """A queryset whose rows are turned into API data only for the page the paginator slices out: row by
    row, or by `page`, which gets the page's rows at once (to look up what they share in one query)."""

    def __init__(self, queryset, row=None, *, page=None) -> None:
        self.queryset = queryset
        self.page = page or (lambda items: [row(item) for item in items])

    def __len__(self) -> int:
        return self.queryset.count()

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self.page(list(self.queryset[index]))
        return self.page([self.queryset[index]])[0]
