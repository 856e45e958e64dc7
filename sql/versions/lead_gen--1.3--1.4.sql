/*
 * lead_gen 1.3 -> 1.4
 */

\echo Use "ALTER EXTENSION lead_gen UPDATE TO '1.4'" to load this file. \quit
