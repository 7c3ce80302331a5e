"""Quality control a sequencing core signs off on, computed where the reads and peaks are already seen.

Pure computation (:mod:`.complexity`, :mod:`.fragments`, :mod:`.xcor`, :mod:`.enrichment`,
:mod:`.reproducibility`, :mod:`.standards`), file I/O (:mod:`.io`), plots (:mod:`.plots`) and the
stage entry (:mod:`.pipeline`). The accumulators are fed one chromosome (or chunk) at a time by
the stages that stream the reads, so nothing here holds more than one chromosome's positions.
Definitions and thresholds: ``docs/qc.md``.
"""
