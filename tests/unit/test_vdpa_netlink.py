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

"""The vdpa generic netlink reader against replies built byte for byte
as the kernel builds them (drivers/vdpa/vdpa.c vdpa_dev_config_fill and
vdpa_dev_net_config_fill, attribute numbers of include/uapi/linux/vdpa.h),
written here with struct, independently of the code under test."""

import errno
import socket
import struct
import time

import testtools

from mdev_traits.discovery import vdpa_netlink as nl

# include/uapi/linux/vdpa.h, counted from VDPA_ATTR_UNSPEC = 0
ATTR = dict(PAD=0, DEV_NAME=4, DEV_ID=5, NET_CFG_MACADDR=10, NET_STATUS=11,
            NET_CFG_MAX_VQP=12, NET_CFG_MTU=13, NEGOTIATED_FEATURES=14,
            DEV_FEATURES=20, VDPA_DEV_SUPPORTED_FEATURES=21,
            BLK_CFG_CAPACITY=21)
FAMILY = 0x1c      # a dynamic genl family id, as the controller assigns


def bits(*numbers):
    return sum(1 << n for n in numbers)


# mlx5_vnet.c get_supported_features on a ConnectX-6 Dx VF, less MRG_RXBUF
# (mlx5_vdpa_dev_add without device_features): CSUM GUEST_CSUM MTU MAC
# HOST_TSO4 HOST_TSO6 STATUS CTRL_VQ CTRL_VLAN MQ CTRL_MAC_ADDR VERSION_1
# ACCESS_PLATFORM
MLX5_DEFAULT = bits(0, 1, 3, 5, 11, 12, 16, 17, 19, 22, 23, 32, 33)
# vdpa dev add ... device_features 0x300020000: CTRL_VQ VERSION_1
# ACCESS_PLATFORM
MLX5_PROVISIONED = 0x300020000


def attr(kind, payload):
    length = 4 + len(payload)
    return (struct.pack('=HH', length, ATTR[kind]) + payload
            + b'\0' * ((4 - length % 4) % 4))


def u16(kind, v):
    return attr(kind, struct.pack('=H', v))


def u32(kind, v):
    return attr(kind, struct.pack('=I', v))


def u64(kind, v, pad=False):
    # nla_put_u64_64bit adds a VDPA_ATTR_PAD attribute first where the
    # architecture needs 8-byte alignment
    return (attr('PAD', b'') if pad else b'') + attr(kind,
                                                     struct.pack('=Q', v))


def message(msg_type, seq, body, flags=0):
    return struct.pack('=IHHII', 16 + len(body), msg_type, flags, seq,
                       4242) + body


def genl(cmd, attrs):
    return struct.pack('=BBH', cmd, 1, 0) + attrs


def config_reply(seq, name, device_id, *attrs):
    """VDPA_CMD_DEV_CONFIG_GET (6) answer: DEV_NAME and DEV_ID first
    (vdpa_dev_config_fill), then the class's attributes."""
    return message(FAMILY, seq, genl(6, attr('DEV_NAME', name + b'\0')
                                     + u32('DEV_ID', device_id)
                                     + b''.join(attrs)))


def ack(seq, err=0):
    return message(2, seq, struct.pack('=i', -err) + b'\0' * 16)


def linux_6_8_mlx5(seq, features=MLX5_DEFAULT):
    """vdpa_dev_net_config_fill of Linux 6.2-6.8: NET_STATUS, DEV_FEATURES,
    then MTU / MAC / MAX_VQP as the features allow; no NEGOTIATED before
    a driver set FEATURES_OK."""
    extra = b''
    if features & bits(3):
        extra += u16('NET_CFG_MTU', 1500)
    if features & bits(5):
        extra += attr('NET_CFG_MACADDR', bytes.fromhex('e411c6d345f0'))
    if features & bits(22):
        extra += u16('NET_CFG_MAX_VQP', 8)
    return config_reply(seq, b'vdpa0', 1, u16('NET_STATUS', 1),
                        u64('DEV_FEATURES', features), extra)


class TestParse(testtools.TestCase):

    def payload(self, data):
        ((_t, _f, _s, payload), ack_msg) = nl.split_messages(data)
        self.assertEqual(0, nl.error_code(ack_msg[3]))
        return payload

    def test_linux_6_2_and_later(self):
        cfg = nl.parse_config_reply(self.payload(
            linux_6_8_mlx5(7) + ack(7)))
        self.assertEqual(('vdpa0', 1, MLX5_DEFAULT, 'VDPA_ATTR_DEV_FEATURES',
                          None), tuple(cfg))
        self.assertEqual((0, 1, 3, 5, 11, 12, 16, 17, 19, 22, 23, 32, 33),
                         nl.feature_bits(cfg.features))

    def test_provisioned_subset(self):
        cfg = nl.parse_config_reply(self.payload(
            linux_6_8_mlx5(8, MLX5_PROVISIONED) + ack(8)))
        self.assertEqual((17, 32, 33), nl.feature_bits(cfg.features))
        self.assertEqual(nl.Features(MLX5_PROVISIONED,
                                     'VDPA_ATTR_DEV_FEATURES', None, False),
                         nl.features_of(cfg))

    def test_padded_u64_and_negotiated(self):
        data = config_reply(
            3, b'vdpa1', 1,
            u64('NEGOTIATED_FEATURES', bits(17, 32, 33), pad=True),
            u16('NET_STATUS', 1), u64('DEV_FEATURES', MLX5_DEFAULT, pad=True))
        cfg = nl.parse_config_reply(nl.split_messages(data)[0][3])
        self.assertEqual(MLX5_DEFAULT, cfg.features)
        self.assertEqual(bits(17, 32, 33), cfg.negotiated)

    def test_linux_6_1_attribute(self):
        # Linux 6.1: the same value in VDPA_ATTR_VDPA_DEV_SUPPORTED_FEATURES
        data = config_reply(4, b'vdpa0', 1, u16('NET_STATUS', 1),
                            u64('VDPA_DEV_SUPPORTED_FEATURES', MLX5_DEFAULT))
        cfg = nl.parse_config_reply(nl.split_messages(data)[0][3])
        self.assertEqual((MLX5_DEFAULT,
                          'VDPA_ATTR_VDPA_DEV_SUPPORTED_FEATURES'),
                         (cfg.features, cfg.features_attr))

    def test_attribute_21_of_a_block_device_is_not_features(self):
        # Linux 6.9+: 21 is VDPA_ATTR_DEV_BLK_CFG_CAPACITY
        data = config_reply(5, b'vdpa4', 2,
                            u64('BLK_CFG_CAPACITY', 0x200000))
        cfg = nl.parse_config_reply(nl.split_messages(data)[0][3])
        self.assertIsNone(cfg.features)
        self.assertFalse(nl.features_of(cfg).transient)

    def test_linux_5_17_to_6_0_report_no_device_features(self):
        # NEGOTIATED_FEATURES only (what a driver accepted)
        data = config_reply(6, b'vdpa0', 1, attr('NET_CFG_MACADDR',
                                                 b'\xe4\x11\xc6\xd3\x45\xf0'),
                            u16('NET_STATUS', 1), u16('NET_CFG_MTU', 1500),
                            u64('NEGOTIATED_FEATURES', bits(32, 33)))
        cfg = nl.parse_config_reply(nl.split_messages(data)[0][3])
        features = nl.features_of(cfg)
        self.assertIsNone(features.features)
        self.assertEqual(nl.NOT_REPORTED, features.reason)
        self.assertFalse(features.transient)

    def test_errors(self):
        (msg,) = nl.split_messages(ack(9, errno.EOPNOTSUPP))
        code = nl.error_code(msg[3])
        self.assertEqual(errno.EOPNOTSUPP, code)
        self.assertFalse(nl.features_of(None, code).transient)
        self.assertIn('network devices only', nl.features_of(None,
                                                             code).reason)
        self.assertTrue(nl.features_of(None, errno.ENODEV).transient)

    def test_malformed(self):
        data = linux_6_8_mlx5(1)
        self.assertRaises(nl.NetlinkError, nl.split_messages,
                          data[:-4])
        bad = struct.pack('=HH', 40, 4) + b'vdpa0\0\0\0'
        self.assertRaises(nl.NetlinkError, nl.parse_attrs, bad)
        self.assertRaises(nl.NetlinkError, nl.parse_config_reply, b'\x06')

    def test_request_bytes(self):
        # what iproute2 sends for "vdpa dev config show vdpa0" (mnlu
        # genl header, VDPA_ATTR_DEV_NAME as a NUL-terminated string)
        data = nl.pack_message(FAMILY, nl.NLM_F_REQUEST | nl.NLM_F_ACK, 3,
                               6, 1, nl.pack_attr(4, b'vdpa0\0'))
        self.assertEqual(message(FAMILY, 3, genl(6, attr('DEV_NAME',
                                                         b'vdpa0\0')),
                                 flags=5)[:12], data[:12])
        self.assertEqual(len(data), struct.unpack('=I', data[:4])[0])
        self.assertEqual(data[16:], genl(6, attr('DEV_NAME', b'vdpa0\0')))


class FakeSocket(object):
    """The kernel side: a genl controller knowing "vdpa" and two devices
    (vdpa0: config reply; vdpa4, a block device on Linux 6.2-6.8:
    EOPNOTSUPP)."""

    def __init__(self, *args):
        self.pending = []
        self.sent = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def bind(self, addr):
        pass

    def settimeout(self, t):
        self.timeout = t

    def send(self, data):
        self.sent.append(data)
        (m_type, _f, seq, payload), = nl.split_messages(data)
        attrs = nl.parse_attrs(payload[4:])
        if m_type == nl.GENL_ID_CTRL:
            family = struct.pack('=H', FAMILY)
            self.pending.append(
                message(nl.GENL_ID_CTRL, seq, genl(1, struct.pack(
                    '=HH', 6, nl.CTRL_ATTR_FAMILY_ID) + family + b'\0\0'))
                + ack(seq))
        elif attrs[4] == b'vdpa0\0':
            self.pending.append(linux_6_8_mlx5(seq, MLX5_PROVISIONED)
                                + ack(seq))
        else:
            self.pending.append(ack(seq, errno.EOPNOTSUPP))

    def recv(self, size):
        if not self.pending:
            raise socket.timeout()
        return self.pending.pop(0)


class TestReader(testtools.TestCase):

    def test_reads_each_device(self):
        fake = FakeSocket()
        self.patch(nl.socket, 'socket', lambda *a: fake)
        result = nl.Reader(2).read(['vdpa4', 'vdpa0'])
        self.assertEqual(MLX5_PROVISIONED, result['vdpa0'].features)
        self.assertIsNone(result['vdpa4'].features)
        self.assertFalse(result['vdpa4'].transient)
        self.assertEqual(3, len(fake.sent))

    def test_no_answer_is_a_timeout(self):
        fake = FakeSocket()
        fake.send = lambda data: None
        self.patch(nl.socket, 'socket', lambda *a: fake)
        exc = self.assertRaises(nl.NetlinkError, nl.Reader(1).read,
                                ['vdpa0'])
        self.assertEqual(errno.ETIMEDOUT, exc.errno)

    def test_real_generic_netlink_controller(self):
        # the request format against this kernel's controller: it knows
        # itself ("nlctrl", GENL_ID_CTRL) and answers ENOENT for a family
        # it does not have
        if not hasattr(socket, 'AF_NETLINK'):
            self.skipTest('no AF_NETLINK')
        reader = nl.Reader(5)
        with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                           nl.NETLINK_GENERIC) as sock:
            sock.bind((0, 0))
            deadline = time.monotonic() + 5
            self.assertEqual(nl.GENL_ID_CTRL,
                             reader.family_id(sock, deadline, 'nlctrl'))
            exc = self.assertRaises(nl.NetlinkError, reader.family_id,
                                    sock, deadline, 'no-such-family')
            self.assertEqual(errno.ENOENT, exc.errno)
