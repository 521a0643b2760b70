"""Where the [placement] credentials come from, said once at start."""

import os

import fixtures
import testtools

from mdev_traits.cmd import exporter as exporter_cmd
from mdev_traits.conf import placement as placement_conf

NOVA = ('[devices]\nenabled_mdev_types = nvidia-231\n\n[placement]\n'
        'auth_type = password\nauth_url = https://keystone.example/v3\n'
        'username = nova\npassword = nova-secret\n')
OWN_CREDS = ('[placement]\nauth_type = password\n'
             'auth_url = https://keystone.example/v3\n'
             'username = mdev-traits\npassword = s3cret\n')


class TestCredentialsSource(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        os.makedirs(os.path.join(self.tmp, 'nova'))
        self.nova = os.path.join(self.tmp, 'nova', 'nova.conf')
        self.own = os.path.join(self.tmp, 'mdev-traits.conf')
        with open(self.nova, 'w') as f:
            f.write(NOVA)

    def _source(self, own_text, with_nova=True):
        with open(self.own, 'w') as f:
            f.write(own_text)
        args = ['--config-file', self.nova] if with_nova else []
        args += ['--config-file', self.own]
        conf = exporter_cmd.build_conf()
        conf(args, project='mdev-traits')
        return placement_conf.credentials_source(conf)

    def test_own_credentials(self):
        warning, message = self._source(OWN_CREDS)
        self.assertFalse(warning)
        self.assertIn('auth_type = password', message)
        self.assertIn('auth_url = https://keystone.example/v3', message)
        self.assertIn('from %s' % self.own, message)
        self.assertNotIn('secret', message)

    def test_no_placement_section_uses_novas(self):
        warning, message = self._source('[exporter]\nmode = decorate\n')
        self.assertTrue(warning)
        self.assertIn('from %s' % self.nova, message)
        self.assertIn("own file (%s) has no [placement] section" % self.own,
                      message)
        self.assertIn("nova-compute's credentials are used", message)
        self.assertNotIn('nova-secret', message)

    def test_placement_section_without_credentials(self):
        warning, message = self._source('[placement]\ntimeout = 10\n')
        self.assertTrue(warning)
        self.assertIn('sets no [placement] credentials', message)

    def test_no_credentials_anywhere(self):
        warning, message = self._source('[exporter]\nmode = decorate\n',
                                        with_nova=False)
        self.assertTrue(warning)
        self.assertIn('No [placement] auth_type in %s' % self.own, message)

    def test_logged_once_at_the_right_level(self):
        logged = []

        class Log(object):
            def __getattr__(self, level):
                return lambda fmt, *a: logged.append((level, fmt % a))

        with open(self.own, 'w') as f:
            f.write(OWN_CREDS)
        conf = exporter_cmd.build_conf()
        conf(['--config-file', self.own], project='mdev-traits')
        placement_conf.log_credentials_source(conf, Log())
        placement_conf.log_credentials_source(conf, Log(), quiet=True)
        self.assertEqual(['info', 'debug'], [lv for lv, _ in logged])
