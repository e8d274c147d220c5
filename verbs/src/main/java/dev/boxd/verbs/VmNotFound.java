package dev.boxd.verbs;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import java.util.List;
import java.util.function.Function;

/**
 * SPEC §12's "not found" for the machine verbs: {@code error: VM 'ARG' not found}, ARG exactly as
 * the user wrote it, the wording clients of the noun form look for. The short verbs keep the
 * server's own wording.
 *
 * <p>A NOT_FOUND of an operation may be about something else (a snapshot, a file in the VM, a
 * route), and the message text is no contract to switch on; so a NOT_FOUND is put in SPEC §12's
 * words only when the VM the user named is confirmed missing by a second look ({@code info}).
 */
final class VmNotFound {
  private VmNotFound() {}

  /**
   * The action, with each VM the user named (as {@code vms} finds them in the arguments) reported
   * in SPEC §12's words when it does not exist. A word that cannot be a VM's name or id names no
   * VM there is, so it is reported the same way without asking.
   */
  static Verb.Action mapping(Function<Args, List<String>> vms, Verb.Action action) {
    return call -> {
      List<String> named = vms.apply(call.args());
      for (String arg : named) {
        if (!Values.isVmRef(arg)) {
          throw of(arg);
        }
      }
      try {
        return action.run(call);
      } catch (BoxdException e) {
        if (e.code() != ErrorCode.NOT_FOUND) {
          throw e;
        }
        for (String arg : named) {
          if (missing(call.ops(), arg)) {
            throw of(arg);
          }
        }
        throw e;
      }
    };
  }

  /** The positionals at these indexes, where given. */
  static Function<Args, List<String>> positionals(int... indexes) {
    return args -> java.util.Arrays.stream(indexes).filter(i -> i < args.positionals().size())
        .mapToObj(i -> args.positionals().get(i)).toList();
  }

  static BoxdException of(String arg) {
    return BoxdException.notFound("VM '" + arg + "' not found");
  }

  // Any other failure of the look says nothing about the VM: the operation's own error stands.
  private static boolean missing(Operations ops, String vm) {
    try {
      ops.info(vm);
      return false;
    } catch (BoxdException e) {
      return e.code() == ErrorCode.NOT_FOUND;
    }
  }
}
