"""The sharing system (Ch. 4, Art. 22–28): the share catalog in use, registrations and
applications, field-level grants, the data access API for department systems, access records,
objections and disputes, signed documents."""
