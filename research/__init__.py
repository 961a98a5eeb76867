"""Research: the trial report, the research exports (CSV, REDCap dictionary, FHIR), a patient's own
export and erasure, and a whole trial simulated through the real coach."""
