"""The package's tests. Every check module (and hypothesis with it) is imported once here, before any in-process
pytester session: such a session removes the modules it imported first when it ends, which would leave the claim
registry holding checks bound to a discarded copy of hypothesis."""

from sgd_conformance.checks.harness.run import registry

pytest_plugins = ["pytester"]

registry()
