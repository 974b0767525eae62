"""The contact-policy promise audit, for the tests that import it from here (it lives in `evals.audit`)."""

from evals.audit import _in_quiet_hours, assert_promise_holds, promise_violations

__all__ = ["_in_quiet_hours", "assert_promise_holds", "promise_violations"]
