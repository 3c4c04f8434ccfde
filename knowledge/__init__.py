"""Knowledge: articles, call scripts, retrieval, sentiment, suggestions (later issues)."""
