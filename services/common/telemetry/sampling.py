"""The sampler: the one OTEL_TRACES_SAMPLER names (parentbased_always_on by default), except for
two kinds of CLIENT span, dropped before they are made:
- one without a parent: the database, Redis and peer calls made outside any request or job (the
  outbox relay's and the revocation watcher's polls, heartbeats, health checks forwarded to a
  peer), each of which would be a trace of one span, many a second;
- a transaction's own statements (BEGIN, COMMIT, ROLLBACK, savepoints): a write of a few rows
  has one each, they say nothing the parent's duration does not, and each span costs CPU."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace import sampling


# asyncpg's spans are named after the statement's first word, as the statement spells it.
TRANSACTION_CONTROL = frozenset(f"{word}{end}" for word in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
                                for end in ("", ";"))


class _NoOrphanClients(sampling.Sampler):
    def __init__(self, delegate: sampling.Sampler) -> None:
        self._delegate = delegate
        # parentbased_always_on (the default) samples a sampled parent's child: decided here
        # without its two more lookups of the parent, a few us of each span's ~20.
        self._follows_sampled_parents = delegate is sampling.DEFAULT_ON

    def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None, links=None,
                      trace_state=None) -> sampling.SamplingResult:
        parent = trace.get_current_span(parent_context).get_span_context()
        if kind == trace.SpanKind.CLIENT and (name in TRANSACTION_CONTROL or not parent.is_valid):
            return sampling.SamplingResult(sampling.Decision.DROP)
        if self._follows_sampled_parents and parent.is_valid and parent.trace_flags.sampled:
            return sampling.SamplingResult(sampling.Decision.RECORD_AND_SAMPLE, attributes, parent.trace_state)
        return self._delegate.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return f"NoOrphanClients{{{self._delegate.get_description()}}}"


def no_orphan_clients() -> sampling.Sampler:
    # (the SDK's own reading of OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG)
    return _NoOrphanClients(sampling._get_from_env_or_default())  # noqa: SLF001
