"""Relevance stage: terms, where they sit (placement), features, the fitted model, the verdict."""
