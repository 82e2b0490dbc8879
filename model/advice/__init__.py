"""Advice: its types and text contract (templates, parser, keywords), the advisor contract, the measured balance
advisor and its profiles, voting and the critique pipeline. Built on audio/; knows nothing of llm/."""
