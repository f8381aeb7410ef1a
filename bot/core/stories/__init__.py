"""Story stage: facts of a report, a story's bounded fingerprint, and the merge decision."""
