# The Debian package (CPack DEB): the install rules above with prefix /usr:
# /usr/sbin/agentd and agent-dataplane, /usr/bin/agentctl, the unit in
# /usr/lib/systemd/system, /etc/agent/agentd.conf as a conffile (an
# operator's edits survive upgrades), the man pages, the bash completion.
# Depends: what dpkg-shlibdeps finds the binaries linked against (DPDK,
# libbpf, libnl, libmnl, libconfig, jansson, libsystemd, libmicrohttpd for
# the metrics listener), plus iproute2 and
# DPDK's run-time plugins.
# `make deb`; tests/pkg/deb.sh (ctest unit_deb) builds and inspects it.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME hybrid-agent)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "hybrid-agent maintainers <agent@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "hybrid DPDK/kernel network agent for hypervisor hosts (agentd, agentctl)")
set(CPACK_PACKAGE_DESCRIPTION
    "A DPDK process owns the NIC; VMs stay on a Linux bridge; eBPF steers bulk VM\n traffic into the DPDK fast path; kernel routing takes over when DPDK fails.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# + the DPDK plugins EAL loads at run time (no link-time dependency for
# dpkg-shlibdeps to see): buses, the mempool driver, the PMDs of the NIC
# and exception port types agentd uses (PCI NICs: virtio here; a host's own
# NIC PMD comes with the "dpdk" package, recommended).
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "iproute2, librte-bus-pci23, librte-bus-vdev23, librte-mempool-ring23, librte-net-virtio23, librte-net-tap23, librte-net-af-xdp23")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "dpdk")
file(WRITE ${CMAKE_BINARY_DIR}/cpack-deb/conffiles "/etc/agent/agentd.conf\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_BINARY_DIR}/cpack-deb/conffiles)
# The paths above (the unit's) hold only with prefix /usr: `make deb` sets it.
if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  message(STATUS "CMAKE_INSTALL_PREFIX is ${CMAKE_INSTALL_PREFIX}: `make deb` (prefix /usr) for a package")
endif()
include(CPack)
