"""The branch: tellers' tills and counter, the back office, supervisors' approvals, the auditor's views and the
end of day."""
