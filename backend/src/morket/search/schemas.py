"""Search's shapes: the query (validated once, passed unchanged to any backend), results, settings."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from pydantic import BaseModel, Field, field_validator, model_validator

from morket.core.text import text_problem

MAX_QUERY_CHARS = 200
MAX_PAGE = 1_000
FACET_SIZE = 10


class SortField(enum.StrEnum):
    RELEVANCE = "relevance"
    NAME = "name"
    COMPANY = "company"
    TITLE = "title"
    LOCATION = "location"
    INDUSTRY = "industry"
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"


class SortOrder(enum.StrEnum):
    ASC = "asc"
    DESC = "desc"


class DateField(enum.StrEnum):
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"


class FacetName(enum.StrEnum):
    COMPANY = "company"
    TITLE = "title"
    LOCATION = "location"
    INDUSTRY = "industry"
    TABLE = "table"
    PROVIDER = "provider"


class ColumnFilter(BaseModel):
    column_id: uuid.UUID
    value: str = Field(min_length=1, max_length=500)

    @field_validator("value")
    @classmethod
    def _text(cls, value: str) -> str:
        if problem := text_problem(value):
            raise ValueError(problem)
        return value


class SearchQuery(BaseModel):
    """A search as every backend receives it (the router builds it from the query string)."""

    q: str = Field(default="", max_length=MAX_QUERY_CHARS)
    table_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    columns: list[ColumnFilter] = Field(default_factory=list, max_length=20)
    company: list[str] = Field(default_factory=list, max_length=50)
    title: list[str] = Field(default_factory=list, max_length=50)
    location: list[str] = Field(default_factory=list, max_length=50)
    industry: list[str] = Field(default_factory=list, max_length=50)
    provider: list[str] = Field(default_factory=list, max_length=50)
    has_email: bool | None = None
    date_field: DateField = DateField.CREATED_AT
    date_from: date | None = None
    date_to: date | None = None
    sort: SortField = SortField.RELEVANCE
    order: SortOrder = SortOrder.DESC
    page: int = Field(default=1, ge=1, le=MAX_PAGE)
    limit: int = Field(default=20, ge=1, le=100)
    facets: bool = True

    @field_validator("q")
    @classmethod
    def _q_text(cls, value: str) -> str:
        if problem := text_problem(value):
            raise ValueError(problem)
        return value.strip()

    @field_validator("company", "title", "location", "industry", "provider")
    @classmethod
    def _values(cls, values: list[str]) -> list[str]:
        for value in values:
            if not value or len(value) > 500:
                raise ValueError("each value must have 1 to 500 characters")
            if problem := text_problem(value):
                raise ValueError(problem)
        return values

    @model_validator(mode="after")
    def _range(self) -> SearchQuery:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("date_from must not be after date_to")
        return self


class SearchHit(BaseModel):
    """A row that matched: where it lives (table, row), its prospect fields, and marked snippets.

    `highlights` values are HTML-escaped text with matches inside `<mark>...</mark>`.
    """

    table_id: uuid.UUID
    table_name: str
    row_id: int
    score: float
    name: str | None = None
    email: str | None = None
    company: str | None = None
    domain: str | None = None
    title: str | None = None
    location: str | None = None
    industry: str | None = None
    providers: list[str] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    highlights: dict[str, str] = Field(default_factory=dict)


class FacetValue(BaseModel):
    value: str
    label: str
    count: int


class SearchResults(BaseModel):
    hits: list[SearchHit]
    total: int
    facets: dict[FacetName, list[FacetValue]] = Field(default_factory=dict)
    # False when the facets were counted over a sample of a very broad result set (docs/search.md).
    facets_exact: bool = True
    # False when the hits are the best of a bounded sample of the matches, not of all of them.
    ranked_all: bool = True
    # False when there are more matches than `total` (counting stops at a cap: "at least").
    total_exact: bool = True


class Suggestion(BaseModel):
    table_id: uuid.UUID
    table_name: str
    row_id: int
    label: str
    detail: str | None = None


class Boosts(BaseModel):
    """Relevance weight of each group of fields (docs/search.md): 0 (ignore) to 10."""

    primary: float = Field(default=1.0, ge=0, le=10, description="name, email, company, domain")
    secondary: float = Field(default=0.4, ge=0, le=10, description="title, industry, location, table name")
    other: float = Field(default=0.1, ge=0, le=10, description="every other text cell")

    @model_validator(mode="after")
    def _some(self) -> Boosts:
        if self.primary == self.secondary == self.other == 0:
            raise ValueError("at least one boost must be above 0")
        return self

    def normalised(self) -> tuple[float, float, float]:
        """(primary, secondary, other) scaled so the largest is 1 (ts_rank takes weights in 0..1)."""
        top = max(self.primary, self.secondary, self.other)
        return self.primary / top, self.secondary / top, self.other / top


class SearchSettings(BaseModel):
    boosts: Boosts = Field(default_factory=Boosts)


class SearchSettingsUpdate(BaseModel):
    boosts: Boosts
