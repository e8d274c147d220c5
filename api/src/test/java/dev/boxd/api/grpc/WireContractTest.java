package dev.boxd.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor.Type;
import dev.boxd.api.v1.BoxdProto;
import java.util.List;
import org.junit.jupiter.api.Test;

/** SPEC §8's names, types and field numbers, as existing clients send and read them: none may change. */
class WireContractTest {
  private record Field(String message, String name, int number, Type type) {}

  private static final List<Field> SPEC = List.of(
      new Field("CreateVmRequest", "name", 1, Type.STRING),
      new Field("CreateVmRequest", "org", 9, Type.STRING),
      new Field("CreateVmRequest", "isolated", 12, Type.BOOL),
      new Field("CreateVmResponse", "vm_id", 1, Type.STRING),
      new Field("CreateVmResponse", "name", 2, Type.STRING),
      new Field("CreateVmResponse", "public_ip", 3, Type.STRING),
      new Field("CreateVmResponse", "url", 4, Type.STRING),
      new Field("CreateVmResponse", "image", 5, Type.STRING),
      new Field("CreateVmResponse", "status", 6, Type.STRING),
      new Field("CreateVmResponse", "boot_time_ms", 7, Type.UINT64),
      new Field("DestroyVmRequest", "vm_id", 1, Type.STRING),
      new Field("StartVmRequest", "vm_id", 1, Type.STRING),
      new Field("StopVmRequest", "vm_id", 1, Type.STRING),
      new Field("GetVmRequest", "vm_id", 1, Type.STRING),
      new Field("ListVmsRequest", "org", 1, Type.STRING),
      new Field("ListVmsResponse", "vms", 1, Type.MESSAGE),
      new Field("GetVmResponse", "vm_id", 1, Type.STRING),
      new Field("GetVmResponse", "name", 2, Type.STRING),
      new Field("GetVmResponse", "public_ip", 4, Type.STRING),
      new Field("GetVmResponse", "status", 5, Type.STRING),
      new Field("GetVmResponse", "org", 10, Type.STRING),
      new Field("GetVmResponse", "billing_org", 11, Type.STRING),
      new Field("GetVmResponse", "billing_org_id", 23, Type.STRING),
      new Field("GetVmResponse", "isolated", 26, Type.BOOL),
      new Field("ExposePortRequest", "vm_port", 2, Type.UINT32),
      new Field("ExposePortRequest", "protocol", 3, Type.STRING),
      new Field("ExposePortRequest", "vm", 4, Type.STRING),
      new Field("ExposePortResponse", "vm_name", 1, Type.STRING),
      new Field("ExposePortResponse", "dns", 2, Type.STRING),
      new Field("ExposePortResponse", "public_port", 3, Type.UINT32),
      new Field("ExposePortResponse", "vm_port", 4, Type.UINT32),
      new Field("ExposePortResponse", "protocol", 5, Type.STRING),
      new Field("ExposePortResponse", "vm_id", 6, Type.STRING),
      new Field("WhoamiResponse", "user_id", 1, Type.STRING),
      new Field("ExecChunk", "data", 1, Type.BYTES),
      new Field("ExecChunk", "stdin", 2, Type.BYTES),
      new Field("ExecChunk", "tty", 3, Type.BOOL),
      new Field("ExecChunk", "command", 4, Type.STRING),
      new Field("ExecChunk", "vm_id", 5, Type.STRING),
      new Field("ExecChunk", "exit_code", 6, Type.INT32),
      new Field("ExecChunk", "cols", 7, Type.UINT32),
      new Field("ExecChunk", "rows", 8, Type.UINT32),
      new Field("ExecChunk", "window_change", 9, Type.BOOL),
      new Field("ExecChunk", "is_stderr", 10, Type.BOOL));

  @Test
  void everySpecFieldKeepsItsNumberAndType() {
    for (Field field : SPEC) {
      Descriptor message = BoxdProto.getDescriptor().findMessageTypeByName(field.message());
      assertThat(message).as(field.message()).isNotNull();
      FieldDescriptor found = message.findFieldByName(field.name());
      assertThat(found).as(field.message() + "." + field.name()).isNotNull();
      assertThat(found.getNumber()).as(field.message() + "." + field.name()).isEqualTo(field.number());
      assertThat(found.getType()).as(field.message() + "." + field.name()).isEqualTo(field.type());
    }
  }

  @Test
  void additionsAreNumberedFrom100InSpecMessages() {
    for (String name : SPEC.stream().map(Field::message).distinct().toList()) {
      for (FieldDescriptor field : BoxdProto.getDescriptor().findMessageTypeByName(name).getFields()) {
        boolean spec = SPEC.stream().anyMatch(f -> f.message().equals(name) && f.name().equals(field.getName()));
        assertThat(spec || field.getNumber() >= 100).as(name + "." + field.getName() + " = " + field.getNumber()).isTrue();
      }
    }
  }

  @Test
  void theServiceIsBoxdApiOfPackageBoxdApiV1() {
    assertThat(BoxdProto.getDescriptor().findServiceByName("BoxdApi").getFullName()).isEqualTo("boxd.api.v1.BoxdApi");
    assertThat(BoxdProto.getDescriptor().findServiceByName("BoxdApi").getMethods()).extracting(m -> m.getName())
        .contains("CreateVm", "DestroyVm", "StartVm", "StopVm", "GetVm", "ListVms", "ExposePort", "Whoami", "Exec", "ForkVm",
            "ListProxies", "SetProxyPort", "UploadFile", "DownloadFile", "RebootVm", "ResumeVm", "StreamLogs");
  }
}
