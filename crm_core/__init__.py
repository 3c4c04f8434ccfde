"""The CRM core: customers, their identities, agreements, conversations, interactions, cases, audit."""
