import pytest


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """Every second factor must keep its contract on SQLite and on PostgreSQL."""
    return request.param
