"""The MASH enquiry broker service."""
