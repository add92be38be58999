import pytest

# Helpers shared by the test modules live in tests/support/: rewrite their asserts as the tests' own
# are, so that a failing helper explains itself.
pytest.register_assert_rewrite("tests.support")
