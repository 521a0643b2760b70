"""virtio feature bits of vDPA devices, as data.

Each feature gives the trait ``CUSTOM_<name>`` where ``<name>`` is the
feature's name in the virtio specification (Virtual I/O Device (VIRTIO)
Version 1.3, section 6 "Reserved Feature Bits", 5.1.3 "Network Device:
Feature bits" and 5.2.3 "Block Device: Feature bits"), which is also the
macro of the Linux UAPI headers ``include/uapi/linux/virtio_config.h``,
``virtio_net.h`` and ``virtio_blk.h`` (Linux calls bits 28 and 29
``VIRTIO_RING_F_INDIRECT_DESC`` / ``VIRTIO_RING_F_EVENT_IDX`` in
``virtio_ring.h``; the specification's ``VIRTIO_F_INDIRECT_DESC`` /
``VIRTIO_F_EVENT_IDX`` are used). ``standard`` is the os-traits trait
that means the same, published as well.

``tool_name`` is how iproute2's ``vdpa`` tool prints the bit (its
``net_feature_strs`` and ``ext_feature_strs`` tables in vdpa/vdpa.c);
the tool prints any other set bit as ``bit_<n>`` (a bare number in JSON
mode), and names device-specific bits of network devices only. Features
are matched by that name, or by bit number for ``bit_<n>``. A bit that
is in no table here gives no trait.

Never change a ``name`` (it is a published trait); add rows for new bits.
"""

import collections

Feature = collections.namedtuple('Feature', 'bit name tool_name standard')

# Bits that do not depend on the device type: 24 and 27 are legacy
# (virtio_config.h, #ifndef VIRTIO_CONFIG_NO_LEGACY), 28 to 41 the
# transport range: include/uapi/linux/virtio_config.h defines
# VIRTIO_TRANSPORT_F_START 28 and VIRTIO_TRANSPORT_F_END 42, one past the
# last transport bit (drivers/virtio/virtio_ring.c vring_transport_features
# loops ``i < VIRTIO_TRANSPORT_F_END``). iproute2's print_features
# (vdpa/vdpa.c) names 28..42 from ext_feature_strs, 42 unnamed: bit_42.
TRANSPORT_FEATURES = (
    Feature(24, 'VIRTIO_F_NOTIFY_ON_EMPTY', 'NOTIFY_ON_EMPTY', None),
    Feature(27, 'VIRTIO_F_ANY_LAYOUT', 'ANY_LAYOUT', None),
    Feature(28, 'VIRTIO_F_INDIRECT_DESC', 'RING_INDIRECT_DESC', None),
    Feature(29, 'VIRTIO_F_EVENT_IDX', 'RING_EVENT_IDX', None),
    Feature(32, 'VIRTIO_F_VERSION_1', 'VERSION_1', None),
    Feature(33, 'VIRTIO_F_ACCESS_PLATFORM', 'ACCESS_PLATFORM', None),
    Feature(34, 'VIRTIO_F_RING_PACKED', 'RING_PACKED', None),
    Feature(35, 'VIRTIO_F_IN_ORDER', 'IN_ORDER', None),
    Feature(36, 'VIRTIO_F_ORDER_PLATFORM', 'ORDER_PLATFORM', None),
    Feature(37, 'VIRTIO_F_SR_IOV', 'SR_IOV', None),
    Feature(38, 'VIRTIO_F_NOTIFICATION_DATA', 'NOTIFICATION_DATA', None),
    Feature(39, 'VIRTIO_F_NOTIF_CONFIG_DATA', None, None),
    Feature(40, 'VIRTIO_F_RING_RESET', None, None),
    Feature(41, 'VIRTIO_F_ADMIN_VQ', None, None),
)

# include/uapi/linux/virtio_net.h. Standard traits (os_traits.hw.nic):
# CSUM is the device taking packets with a partial checksum (transmit
# checksum offload), GUEST_CSUM the device giving such packets to the
# driver (receive checksum offload); HOST_TSO4/6 and HOST_UFO are
# segmentation offloads for packets the guest sends; MQ is more than one
# queue pair; HASH_REPORT a per-packet receive hash.
NET_FEATURES = (
    Feature(0, 'VIRTIO_NET_F_CSUM', 'CSUM', 'HW_NIC_OFFLOAD_TX'),
    Feature(1, 'VIRTIO_NET_F_GUEST_CSUM', 'GUEST_CSUM', 'HW_NIC_OFFLOAD_RX'),
    Feature(2, 'VIRTIO_NET_F_CTRL_GUEST_OFFLOADS', 'CTRL_GUEST_OFFLOADS',
            None),
    Feature(3, 'VIRTIO_NET_F_MTU', 'MTU', None),
    Feature(5, 'VIRTIO_NET_F_MAC', 'MAC', None),
    Feature(6, 'VIRTIO_NET_F_GSO', None, None),  # legacy
    Feature(7, 'VIRTIO_NET_F_GUEST_TSO4', 'GUEST_TSO4', None),
    Feature(8, 'VIRTIO_NET_F_GUEST_TSO6', 'GUEST_TSO6', None),
    Feature(9, 'VIRTIO_NET_F_GUEST_ECN', 'GUEST_ECN', None),
    Feature(10, 'VIRTIO_NET_F_GUEST_UFO', 'GUEST_UFO', None),
    Feature(11, 'VIRTIO_NET_F_HOST_TSO4', 'HOST_TSO4', 'HW_NIC_OFFLOAD_TSO'),
    Feature(12, 'VIRTIO_NET_F_HOST_TSO6', 'HOST_TSO6', 'HW_NIC_OFFLOAD_TSO'),
    Feature(13, 'VIRTIO_NET_F_HOST_ECN', 'HOST_ECN', None),
    Feature(14, 'VIRTIO_NET_F_HOST_UFO', 'HOST_UFO', 'HW_NIC_OFFLOAD_UFO'),
    Feature(15, 'VIRTIO_NET_F_MRG_RXBUF', 'MRG_RXBUF', None),
    Feature(16, 'VIRTIO_NET_F_STATUS', 'STATUS', None),
    Feature(17, 'VIRTIO_NET_F_CTRL_VQ', 'CTRL_VQ', None),
    Feature(18, 'VIRTIO_NET_F_CTRL_RX', 'CTRL_RX', None),
    Feature(19, 'VIRTIO_NET_F_CTRL_VLAN', 'CTRL_VLAN', None),
    Feature(20, 'VIRTIO_NET_F_CTRL_RX_EXTRA', 'CTRL_RX_EXTRA', None),
    Feature(21, 'VIRTIO_NET_F_GUEST_ANNOUNCE', 'GUEST_ANNOUNCE', None),
    Feature(22, 'VIRTIO_NET_F_MQ', 'MQ', 'HW_NIC_MULTIQUEUE'),
    Feature(23, 'VIRTIO_NET_F_CTRL_MAC_ADDR', 'CTRL_MAC_ADDR', None),
    Feature(50, 'VIRTIO_NET_F_DEVICE_STATS', None, None),
    Feature(52, 'VIRTIO_NET_F_VQ_NOTF_COAL', None, None),
    Feature(53, 'VIRTIO_NET_F_NOTF_COAL', None, None),
    Feature(54, 'VIRTIO_NET_F_GUEST_USO4', None, None),
    Feature(55, 'VIRTIO_NET_F_GUEST_USO6', None, None),
    Feature(56, 'VIRTIO_NET_F_HOST_USO', None, None),
    Feature(57, 'VIRTIO_NET_F_HASH_REPORT', 'HASH_REPORT',
            'HW_NIC_OFFLOAD_RXHASH'),
    Feature(59, 'VIRTIO_NET_F_GUEST_HDRLEN', None, None),
    Feature(60, 'VIRTIO_NET_F_RSS', 'RSS', None),
    Feature(61, 'VIRTIO_NET_F_RSC_EXT', 'RSC_EXT', None),
    Feature(62, 'VIRTIO_NET_F_STANDBY', 'STANDBY', None),
    Feature(63, 'VIRTIO_NET_F_SPEED_DUPLEX', 'SPEED_DUPLEX', None),
)

# include/uapi/linux/virtio_blk.h (the tool prints these as bit_<n>).
BLOCK_FEATURES = (
    Feature(1, 'VIRTIO_BLK_F_SIZE_MAX', None, None),
    Feature(2, 'VIRTIO_BLK_F_SEG_MAX', None, None),
    Feature(4, 'VIRTIO_BLK_F_GEOMETRY', None, None),
    Feature(5, 'VIRTIO_BLK_F_RO', None, None),
    Feature(6, 'VIRTIO_BLK_F_BLK_SIZE', None, None),
    Feature(9, 'VIRTIO_BLK_F_FLUSH', None, None),
    Feature(10, 'VIRTIO_BLK_F_TOPOLOGY', None, None),
    Feature(11, 'VIRTIO_BLK_F_CONFIG_WCE', None, None),
    Feature(12, 'VIRTIO_BLK_F_MQ', None, None),
    Feature(13, 'VIRTIO_BLK_F_DISCARD', None, None),
    Feature(14, 'VIRTIO_BLK_F_WRITE_ZEROES', None, None),
    Feature(16, 'VIRTIO_BLK_F_SECURE_ERASE', None, None),
    Feature(17, 'VIRTIO_BLK_F_ZONED', None, None),
)

# virtio device type (the vdpa tool's class name) -> its own feature bits
DEVICE_FEATURES = {
    'net': NET_FEATURES,
    'block': BLOCK_FEATURES,
}
