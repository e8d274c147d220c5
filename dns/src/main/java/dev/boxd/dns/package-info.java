/** The dns role: authoritative answers for the zone, from the local replica of the log. */
package dev.boxd.dns;
