package dev.boxd.vmm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The guest kernel command line. */
public final class KernelArgs {
  private KernelArgs() {}

  /**
   * Under TCG, telling the guest the TSC frequency ({@code tsc_early_khz}, {@code tsc=reliable},
   * {@code no_timer_check}) avoids a calibration that hangs about one boot in six; the RTC stays
   * on (turning it off costs two seconds); self-tests, audit and LSMs are skipped; a panic
   * resets the guest at once (the runtime then gives it its identity again) instead of hanging.
   */
  public static String forGuest() {
    return "console=ttyS0 root=/dev/vda rw panic=-1 tsc_early_khz=" + hostTscKhz()
        + " tsc=reliable no_timer_check cryptomgr.notests audit=0 lsm=capability pci=off 8250.nr_uarts=1"
        + " systemd.show_status=false";
  }

  private static final Pattern MHZ = Pattern.compile("cpu MHz\\s*:\\s*([0-9.]+)");

  /** The host's TSC rate in kHz, from /proc/cpuinfo (the first CPU's current clock). */
  static long hostTscKhz() {
    try {
      Matcher m = MHZ.matcher(Files.readString(Path.of("/proc/cpuinfo")));
      if (m.find()) {
        return Math.round(Double.parseDouble(m.group(1)) * 1000);
      }
    } catch (IOException e) {
      // fall through to a common value
    }
    return 2_000_000;
  }
}
