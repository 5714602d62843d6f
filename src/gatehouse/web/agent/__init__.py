"""Agent-facing web code. It may only ever see AgentContactView, never vault PII."""
