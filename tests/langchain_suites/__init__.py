"""LangChain's standard suites (see conftest.py here). A package, so that its conftest module
is ``langchain_suites.conftest`` and never shadows ``tests/conftest.py``, which the test
modules import as ``conftest``."""
