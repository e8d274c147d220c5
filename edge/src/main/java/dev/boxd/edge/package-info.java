/**
 * The proxy role: what stands between the internet and the VMs of a zone. It reads only the
 * local replica of the log and reaches a VM's worker only through the worker port.
 */
package dev.boxd.edge;
