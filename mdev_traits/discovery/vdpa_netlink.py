#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""A vDPA device's own virtio features, read from the kernel's "vdpa"
generic netlink family (iproute2's ``vdpa`` tool does not print them).

Where they are (Linux drivers/vdpa/vdpa.c, include/uapi/linux/vdpa.h):

* ``VDPA_CMD_DEV_CONFIG_GET`` (vdpa_nl_cmd_dev_config_get_doit ->
  vdpa_dev_config_fill -> vdpa_dev_net_config_fill) answers, for a
  network device, ``VDPA_ATTR_DEV_FEATURES`` (20, u64): the features the
  device offers (``get_device_features``), i.e. those it was provisioned
  with by ``vdpa dev add ... device_features`` or the management device's
  default. Linux 6.2 and later ("vdpa: merge functionally duplicated
  dev_features attributes").
* Linux 6.1 put the same value in ``VDPA_ATTR_VDPA_DEV_SUPPORTED_FEATURES``
  (21); 6.2 removed that attribute and Linux 6.9 reused number 21 for
  ``VDPA_ATTR_DEV_BLK_CFG_CAPACITY``, so 21 is read as features only when
  20 is absent and the device is a network device (VDPA_ATTR_DEV_ID 1).
* Linux 5.12 to 6.0 report no device features at all (only
  ``VDPA_ATTR_DEV_NEGOTIATED_FEATURES``, what a driver accepted, and in
  ``VDPA_CMD_MGMTDEV_GET`` ``VDPA_ATTR_DEV_SUPPORTED_FEATURES``, the
  management device's upper bound, which a device may not offer in full:
  mlx5_vnet.c mlx5_vdpa_dev_add drops MRG_RXBUF unless provisioned and MAC
  when the VF has no MAC address).
* For other device types, Linux 6.2 to 6.8 refuse the request
  (``EOPNOTSUPP``: vdpa_dev_config_fill handles VIRTIO_ID_NET only).

``VDPA_CMD_DEV_CONFIG_GET`` needs no privilege (no GENL_ADMIN_PERM in
vdpa_nl_ops). One request per device (``doit``), not a dump: a dump
(vdpa_nl_cmd_dev_config_get_dumpit) stops silently at the first device
whose config cannot be filled, leaving out the devices after it.

Why the standard library and not pyroute2: pyroute2 (0.9.7, checked) has
no vdpa module, only a generic ``genlmsg`` to subclass with an nla map;
its core moved to asyncio in 0.9 with a different API from 0.7, and what
is needed here is two requests with flat attributes. Parsing is the pure
:func:`parse_config_reply` (tested with replies built byte for byte per
the uapi header); the socket part is :class:`Reader`, bounded by a
timeout for every receive and a cap on messages and devices.
"""

import collections
import errno
import os
import socket
import struct
import time

# include/uapi/linux/netlink.h
NETLINK_GENERIC = 16
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLMSG_ERROR = 0x2
NLMSG_DONE = 0x3
NLA_TYPE_MASK = 0x3fff      # ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER)
# include/uapi/linux/genetlink.h
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2
# include/uapi/linux/vdpa.h
VDPA_GENL_NAME = 'vdpa'
VDPA_GENL_VERSION = 1
VDPA_CMD_DEV_CONFIG_GET = 6
VDPA_ATTR_DEV_NAME = 4
VDPA_ATTR_DEV_ID = 5
VDPA_ATTR_DEV_NEGOTIATED_FEATURES = 14
VDPA_ATTR_DEV_FEATURES = 20
VDPA_ATTR_VDPA_DEV_SUPPORTED_FEATURES = 21     # Linux 6.1 only
# include/uapi/linux/virtio_ids.h
VIRTIO_ID_NET = 1

ATTR_NAMES = {
    VDPA_ATTR_DEV_FEATURES: 'VDPA_ATTR_DEV_FEATURES',
    VDPA_ATTR_VDPA_DEV_SUPPORTED_FEATURES:
        'VDPA_ATTR_VDPA_DEV_SUPPORTED_FEATURES',
}

_NLMSGHDR = struct.Struct('=IHHII')      # len, type, flags, seq, pid
_GENLMSGHDR = struct.Struct('=BBH')      # cmd, version, reserved
_NLATTR = struct.Struct('=HH')           # len, type

MAX_MESSAGES = 64            # per request: a reply, an ack, an error
MAX_DEVICES = 1024
RECV_SIZE = 65536

NOT_REPORTED = ('the kernel does not report the device\'s own features '
                '(VDPA_ATTR_DEV_FEATURES in VDPA_CMD_DEV_CONFIG_GET: Linux '
                '6.2 and later)')


class NetlinkError(Exception):
    """A netlink request failed; ``errno`` is the kernel's, if any."""

    def __init__(self, message, err=None):
        super(NetlinkError, self).__init__(message)
        self.errno = err


# (features as an int or None, the attribute's name or None, device id)
DeviceConfig = collections.namedtuple(
    'DeviceConfig', 'name device_id features features_attr negotiated')

# what was read for one device: features (int) and where from, or the
# reason they are not known; ``transient`` when reading failed this time
# (the device's feature traits are then kept, not withdrawn)
Features = collections.namedtuple('Features',
                                  'features source reason transient')


def _align(n):
    return (n + 3) & ~3


def pack_attr(attr_type, payload):
    """One netlink attribute, padded to 4 bytes."""
    length = _NLATTR.size + len(payload)
    return (_NLATTR.pack(length, attr_type) + payload
            + b'\0' * (_align(length) - length))


def pack_message(msg_type, flags, seq, cmd, version, attrs=b'', pid=0):
    """A generic netlink message (nlmsghdr + genlmsghdr + attributes)."""
    body = _GENLMSGHDR.pack(cmd, version, 0) + attrs
    return _NLMSGHDR.pack(_NLMSGHDR.size + len(body), msg_type, flags, seq,
                          pid) + body


def split_messages(data):
    """[(type, flags, seq, payload)] of the netlink messages in ``data``.

    :raises NetlinkError: a length that does not fit.
    """
    out = []
    offset = 0
    while offset + _NLMSGHDR.size <= len(data) and len(out) < MAX_MESSAGES:
        length, msg_type, flags, seq, _pid = _NLMSGHDR.unpack_from(
            data, offset)
        if length < _NLMSGHDR.size or offset + length > len(data):
            raise NetlinkError('malformed netlink message (length %d at '
                               '%d of %d)' % (length, offset, len(data)))
        out.append((msg_type, flags, seq,
                    data[offset + _NLMSGHDR.size:offset + length]))
        offset += _align(length)
    return out


def parse_attrs(data):
    """{type: payload} of a flat attribute list (the first of each type).

    :raises NetlinkError: an attribute length that does not fit.
    """
    attrs = {}
    offset = 0
    while offset + _NLATTR.size <= len(data):
        length, attr_type = _NLATTR.unpack_from(data, offset)
        if length < _NLATTR.size or offset + length > len(data):
            raise NetlinkError('malformed netlink attribute (length %d at '
                               '%d of %d)' % (length, offset, len(data)))
        attrs.setdefault(attr_type & NLA_TYPE_MASK,
                         data[offset + _NLATTR.size:offset + length])
        offset += _align(length)
    return attrs


def _u64(payload):
    return struct.unpack('=Q', payload[:8])[0] if len(payload) >= 8 else None


def _u32(payload):
    return struct.unpack('=I', payload[:4])[0] if len(payload) >= 4 else None


def _string(payload):
    return payload.split(b'\0', 1)[0].decode('utf-8', 'replace')


def error_code(payload):
    """The (positive) errno of an NLMSG_ERROR payload; 0 for an ack."""
    if len(payload) < 4:
        raise NetlinkError('short netlink error message')
    return -struct.unpack('=i', payload[:4])[0]


def parse_family_reply(payload):
    """The family id in a CTRL_CMD_NEWFAMILY reply (genl payload)."""
    attrs = parse_attrs(payload[_GENLMSGHDR.size:])
    raw = attrs.get(CTRL_ATTR_FAMILY_ID)
    if raw is None or len(raw) < 2:
        raise NetlinkError('the generic netlink controller named no '
                           'family id')
    return struct.unpack('=H', raw[:2])[0]


def parse_config_reply(payload):
    """A :class:`DeviceConfig` from the genl payload of a
    ``VDPA_CMD_DEV_CONFIG_GET`` reply (vdpa_dev_config_fill)."""
    if len(payload) < _GENLMSGHDR.size:
        raise NetlinkError('short generic netlink message')
    attrs = parse_attrs(payload[_GENLMSGHDR.size:])
    name = attrs.get(VDPA_ATTR_DEV_NAME)
    device_id = _u32(attrs.get(VDPA_ATTR_DEV_ID, b''))
    features = attr = None
    raw = attrs.get(VDPA_ATTR_DEV_FEATURES)
    if raw is not None:
        features, attr = _u64(raw), VDPA_ATTR_DEV_FEATURES
    elif device_id == VIRTIO_ID_NET and \
            VDPA_ATTR_VDPA_DEV_SUPPORTED_FEATURES in attrs:
        # Linux 6.1 (see the module docstring); 21 means something else
        # for block devices on 6.9+
        features = _u64(attrs[VDPA_ATTR_VDPA_DEV_SUPPORTED_FEATURES])
        attr = VDPA_ATTR_VDPA_DEV_SUPPORTED_FEATURES
    if features is None:
        attr = None
    negotiated = attrs.get(VDPA_ATTR_DEV_NEGOTIATED_FEATURES)
    return DeviceConfig(
        name=_string(name) if name is not None else None,
        device_id=device_id, features=features,
        features_attr=ATTR_NAMES.get(attr),
        negotiated=_u64(negotiated) if negotiated is not None else None)


def feature_bits(mask):
    """The set bits of ``mask``, lowest first."""
    return tuple(bit for bit in range(64) if mask >> bit & 1)


def features_of(config, errno_value=None):
    """:class:`Features` for one device from its reply, or from the errno
    its request failed with (pure)."""
    if errno_value:
        if errno_value == errno.EOPNOTSUPP:
            return Features(None, None, 'the kernel gives no config for '
                            'this device type (vdpa_dev_config_fill: '
                            'network devices only before Linux 6.9)', False)
        if errno_value == errno.EINVAL:
            return Features(None, None, 'the kernel refuses its config '
                            '(unmanaged vdpa device)', False)
        return Features(None, None, 'reading its config over netlink '
                        'failed: %s' % os.strerror(errno_value), True)
    if config.features is None:
        return Features(None, None, NOT_REPORTED, False)
    return Features(config.features, config.features_attr, None, False)


class Reader(object):
    """Read ``VDPA_CMD_DEV_CONFIG_GET`` for each device, bounded by
    ``timeout`` seconds in all."""

    def __init__(self, timeout):
        self.timeout = timeout
        self._seq = 0

    def _request(self, sock, deadline, msg_type, cmd, version, attrs):
        """The payloads of the replies to one request (ack included)."""
        self._seq += 1
        seq = self._seq
        sock.send(pack_message(msg_type, NLM_F_REQUEST | NLM_F_ACK, seq,
                               cmd, version, attrs))
        replies = []
        for _ in range(MAX_MESSAGES):
            left = deadline - time.monotonic()
            if left <= 0:
                raise NetlinkError('no netlink answer within %ss'
                                   % self.timeout, errno.ETIMEDOUT)
            sock.settimeout(left)
            try:
                data = sock.recv(RECV_SIZE)
            except socket.timeout:
                raise NetlinkError('no netlink answer within %ss'
                                   % self.timeout, errno.ETIMEDOUT)
            for m_type, _flags, m_seq, payload in split_messages(data):
                if m_seq != seq:
                    continue
                if m_type == NLMSG_ERROR:
                    code = error_code(payload)
                    if code:
                        raise NetlinkError(os.strerror(code), code)
                    return replies
                if m_type == NLMSG_DONE:
                    return replies
                replies.append(payload)
        raise NetlinkError('too many netlink messages')

    def family_id(self, sock, deadline, family=VDPA_GENL_NAME):
        """The id of the generic netlink ``family`` (CTRL_CMD_GETFAMILY).
        """
        name = family.encode('ascii') + b'\0'
        replies = self._request(sock, deadline, GENL_ID_CTRL,
                                CTRL_CMD_GETFAMILY, 1,
                                pack_attr(CTRL_ATTR_FAMILY_NAME, name))
        if not replies:
            raise NetlinkError('the generic netlink controller did not '
                               'answer')
        return parse_family_reply(replies[0])

    def read(self, names):
        """{name: :class:`Features`} for the devices ``names``.

        :raises NetlinkError: the family cannot be reached at all.
        """
        deadline = time.monotonic() + self.timeout
        try:
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                                 NETLINK_GENERIC)
        except (OSError, AttributeError) as exc:
            raise NetlinkError('no generic netlink socket: %s' % exc)
        with sock:
            try:
                sock.bind((0, 0))
                family = self.family_id(sock, deadline)
            except NetlinkError as exc:
                if exc.errno == errno.ENOENT:
                    raise NetlinkError('the kernel has no "vdpa" generic '
                                       'netlink family (vdpa module not '
                                       'loaded)', exc.errno)
                raise
            except OSError as exc:
                raise NetlinkError(str(exc), exc.errno)
            result = {}
            for name in sorted(names)[:MAX_DEVICES]:
                attr = pack_attr(VDPA_ATTR_DEV_NAME,
                                 name.encode('utf-8') + b'\0')
                try:
                    replies = self._request(
                        sock, deadline, family, VDPA_CMD_DEV_CONFIG_GET,
                        VDPA_GENL_VERSION, attr)
                except NetlinkError as exc:
                    if exc.errno == errno.ETIMEDOUT or exc.errno is None:
                        raise
                    result[name] = features_of(None, exc.errno)
                    continue
                except OSError as exc:
                    raise NetlinkError(str(exc), exc.errno)
                configs = [parse_config_reply(p) for p in replies]
                mine = [c for c in configs if c.name == name]
                if not mine:
                    result[name] = Features(
                        None, None, 'the kernel answered no config for it',
                        True)
                    continue
                result[name] = features_of(mine[0])
            return result
