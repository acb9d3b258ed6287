"""Human oversight of the learners: alert outcomes, bias audit, drift watch (see docs/oversight.md)."""
