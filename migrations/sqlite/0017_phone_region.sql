-- The country whose national phone numbers the organisation writes without a country code
-- (ISO 3166, e.g. GB); none: numbers are written in international form.
ALTER TABLE organisations ADD COLUMN phone_region TEXT;
